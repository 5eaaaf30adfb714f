"""The CSV format: RFC 4180 quoting, aliases in one cell, and formula cells neutralized on
export and restored exactly on import."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from resolvers.errors import Problems
from resolvers.tags.io import csv_file

texts = st.text(alphabet=st.sampled_from("'=+-@\t\r\n|\\a,\" é"), max_size=12)


@given(texts)
def test_restore_undoes_neutralize_exactly(text: str) -> None:
    assert csv_file.restore(csv_file.neutralize(text)) == text


@given(texts)
def test_a_neutralized_cell_never_starts_a_formula(text: str) -> None:
    assert csv_file.neutralize(text)[:1] not in csv_file.FORMULA_STARTS


def test_neutralize_examples() -> None:
    assert csv_file.neutralize("=SUM(A1)") == "'=SUM(A1)"
    assert csv_file.neutralize("'=x") == "''=x"
    assert csv_file.neutralize("'quoted") == "'quoted"
    assert csv_file.neutralize("-1") == "'-1"
    assert csv_file.restore("'=SUM(A1)") == "=SUM(A1)"
    assert csv_file.restore("'quoted") == "'quoted"


@given(st.lists(texts, min_size=1, max_size=4))
def test_aliases_survive_one_cell(aliases: list[str]) -> None:
    assert csv_file.split_aliases(csv_file.join_aliases(aliases)) == aliases


def _tag(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {k: None for k in csv_file.COLUMNS}
    base.update(exclusive=False, archived=False, aliases=[])
    base.update(fields)
    return base


def test_written_files_are_rfc_4180_and_read_back() -> None:
    tag = _tag(
        name='Say "hi", then',
        slug="say",
        color="00ff00",
        description="two\nlines",
        aliases=["a|b", "=c"],
        parent="top",
        exclusive=True,
    )
    text = csv_file.write([tag])
    assert text.startswith(",".join(csv_file.COLUMNS) + "\r\n")
    assert '"Say ""hi"", then"' in text and '"two\nlines"' in text
    records = list(csv.reader(io.StringIO(text, newline="")))
    assert len(records) == 2 and records[1][csv_file.COLUMNS.index("aliases")] == "a\\|b|=c"
    problems = Problems()
    rows = csv_file.read(text, problems, 10)
    assert problems.found == []
    assert rows[0].fields == {
        "name": 'Say "hi", then',
        "slug": "say",
        "color": "00ff00",
        "description": "two\nlines",
        "parent": "top",
        "aliases": ["a|b", "=c"],
        "exclusive": True,
        "archived": False,
    }


def test_reading_takes_a_bom_any_column_order_and_skips_blank_records() -> None:
    problems = Problems()
    rows = csv_file.read(
        "\ufeffExclusive, NAME\r\nTRUE,First\r\n\r\n,\r\nfalse,Second\r\n", problems, 10
    )
    assert problems.found == []
    assert [(r.n, r.fields) for r in rows] == [
        (1, {"exclusive": True, "name": "First"}),
        (4, {"exclusive": False, "name": "Second"}),
    ]


def test_a_cell_over_the_csv_modules_bound_is_a_row_error() -> None:
    problems = Problems()
    rows = csv_file.read("name\r\nfine\r\n" + "x" * (1 << 20) + "\r\n", problems, 10)
    assert rows == []
    assert [p.field for p in problems.found] == [("content", "2")]
