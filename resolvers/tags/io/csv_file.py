"""TagFileFormat.CSV: RFC 4180 text with a header row, no metadata.

    name,slug,color,description,category,parent,aliases,exclusive,archived

Written with CRLF line ends, fields quoted where they hold a comma, a quote or
a line break. Aliases are joined with `|`; inside an alias `\\` and `|` are
written `\\\\` and `\\|`, so any alias survives the round trip. Booleans are
`true`/`false` (read without regard to case, as spreadsheets write TRUE);
an empty cell is null.

Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula (CSV injection). Export puts an apostrophe in
front of every such cell, and in front of a cell that is apostrophes followed
by such a character, so the cell reads as text; import takes exactly one
apostrophe off a cell of that form. So `=SUM(A1)` is written `'=SUM(A1)` and
read back as `=SUM(A1)`, `'=x` is written `''=x` and read back as `'=x`, and
a cell like `'quoted` (apostrophe, then no formula character) is left alone
both ways.

Reading is strict (a quote inside an unquoted field, a quoted field that never
ends: VALIDATION for that row) and bounded: the csv module refuses a cell
over 128 KiB (no tag field is near that), and reading stops after the most
tags an import may hold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from i18n import N_, msg
from resolvers.errors import Problems
from resolvers.tags.io.rows import (
    CONTENT,
    NOT_BOOLEAN,
    Row,
    at_row,
    bad,
    too_many_tags,
)

COLUMNS: tuple[str, ...] = (
    "name",
    "slug",
    "color",
    "description",
    "category",
    "parent",
    "aliases",
    "exclusive",
    "archived",
)
FLAGS = frozenset({"exclusive", "archived"})
FORMULA_STARTS = frozenset("=+-@\t\r")
BOM = "\ufeff"
ALIAS_SEPARATOR = "|"
_COLUMN_LIST = ",".join(COLUMNS)


# Formula cells ------------------------------------------------------------------


def _is_formula_like(text: str) -> bool:
    """Apostrophes (any number, none included) followed by a formula character."""
    rest = text.lstrip("'")
    return bool(rest) and rest[0] in FORMULA_STARTS


def neutralize(cell: str) -> str:
    """The cell as export writes it: a spreadsheet shows it as text, never runs it."""
    return "'" + cell if _is_formula_like(cell) else cell


def restore(cell: str) -> str:
    """The inverse of `neutralize`, for every text."""
    return cell[1:] if cell.startswith("'") and _is_formula_like(cell) else cell


# Aliases in one cell --------------------------------------------------------------


def join_aliases(aliases: Sequence[str]) -> str:
    return ALIAS_SEPARATOR.join(a.replace("\\", "\\\\").replace("|", "\\|") for a in aliases)


def split_aliases(cell: str) -> list[str]:
    """The aliases of a cell; a backslash takes the next character as it is."""
    aliases: list[str] = []
    current: list[str] = []
    chars = iter(cell)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ALIAS_SEPARATOR:
            aliases.append("".join(current))
            current = []
        else:
            current.append(char)
    aliases.append("".join(current))
    return aliases


# Writing --------------------------------------------------------------------------


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in FLAGS:
        return "true" if value else "false"
    if key == "aliases":
        return neutralize(join_aliases(value))
    return neutralize(str(value))


def write(tags: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for tag in tags:
        writer.writerow([_cell(key, tag[key]) for key in COLUMNS])
    return out.getvalue()


# Reading --------------------------------------------------------------------------


def _records(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), strict=True)


def _header(cells: list[str], problems: Problems) -> list[str] | None:
    names = [c.strip().lower() for c in cells]
    message: str | None = None
    if any(n not in COLUMNS for n in names):
        message = msg("Unknown column; the columns are {columns}.", columns=_COLUMN_LIST)
    elif len(set(names)) != len(names):
        message = N_("A column is given twice.")
    elif "name" not in names:
        message = N_("The header row has no name column.")
    if message is not None:
        problems.add(bad(at_row(0), message))
        return None
    return names


def _row(n: int, header: list[str], cells: list[str], problems: Problems) -> Row | None:
    if len(cells) != len(header):
        message = msg(
            "This row has {count} cells; the header has {columns}.",
            count=len(cells),
            columns=len(header),
        )
        problems.add(bad(at_row(n), message))
        return None
    row = Row(n)
    fine = True
    for key, raw in zip(header, cells, strict=True):
        cell = restore(raw)
        if not cell.strip():
            continue
        if key in FLAGS:
            flag = cell.strip().lower()
            if flag not in ("true", "false"):
                problems.add(bad(at_row(n, key), NOT_BOOLEAN))
                fine = False
                continue
            row.fields[key] = flag == "true"
        elif key == "aliases":
            row.fields[key] = split_aliases(cell)
        else:
            row.fields[key] = cell
    return row if fine else None


def read(content: str, problems: Problems, limit: int) -> list[Row]:
    """The tags of a CSV file (a UTF-8 BOM in front is dropped), at most `limit`.

    Rows count records after the header, blank ones included, so `N` is the
    line an editor shows minus one when no field holds a line break; blank
    records (no cell, or every cell empty) are no tag and are skipped.
    """
    records = _records(content.removeprefix(BOM))
    n = -1  # the record being read: 0 is the header
    try:
        first = next(records, None)
        if first is None:
            problems.add(bad((CONTENT,), N_("The file has no header row.")))
            return []
        header = _header(first, problems)
        if header is None:
            return []
        n = 0
        rows: list[Row] = []
        tags = 0
        for n, cells in enumerate(records, start=1):
            if not any(c.strip() for c in cells):
                continue
            tags += 1
            if tags > limit:
                problems.add(too_many_tags(limit))
                return []
            row = _row(n, header, cells, problems)
            if row is not None:
                rows.append(row)
        return rows
    except csv.Error:
        # The csv module's own text is English and quotes the input: not shown.
        problems.add(bad(at_row(n + 1), N_("This row is not valid CSV.")))
        return []
