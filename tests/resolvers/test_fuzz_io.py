"""Hostile files for importTags (1.2): CSV with quotes, embedded line breaks, a BOM, formula
prefixes, huge cells and wrong column counts; JSON and GitHub labels with invalid UTF-8 in
their strings, wrong types and deep nesting. Same rules as tests/resolvers/test_fuzz.py: no
internal error, no leak, only contract codes, nothing stored when errors came back, every
accepted tag obeys the rules; and whatever was accepted exports to a file that imports
back changing nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resolvers.tags.io.csv_file import COLUMNS
from storage import Store
from tests.resolvers.test_fuzz import (
    CASES,
    ERROR_CODES,
    FUZZ_SETTINGS,
    LEAK_MARKERS,
    USER_ERROR_CODES,
    WS,
    _check_stored_tag,
    _messages,
    _post,
    snapshot,
)

IMPORT = """mutation($input: ImportTagsInput!) { importTags(input: $input) {
  created updated unchanged tags { id name slug color description category metadata }
  userErrors { code field message } } }"""
EXPORT = (
    "query($ws: ID!, $f: TagFileFormat!) { exportTags(workspaceId: $ws, format: $f) { content } }"
)
TAGS = f"""{{ tags(workspaceId: "{WS}", first: 100) {{
  nodes {{ id name slug color description category metadata aliases depth }} }} }}"""

# Pieces a hostile cell is made of.
CELL_PIECES = [
    '"',
    '""',
    ",",
    "\n",
    "\r\n",
    "\r",
    "\ufeff",
    "=",
    "+",
    "-",
    "@",
    "\t",
    "'",
    "'=",
    "|",
    "\\",
    "\\|",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd",
    "-2+3",
    "true",
    "FALSE",
    "tag",
    "Tag",
    "é",
    "\u0301",
    "\x00",
    "\x1b",
    "\u202e",
    "\udc80",
    "\ud800",
    " ",
    "",
    "x" * 101,
    "a" * 600,
]
cells = st.lists(st.sampled_from(CELL_PIECES), max_size=4).map("".join)
header_names = st.one_of(
    st.sampled_from(COLUMNS), st.sampled_from(["metadata", "Name ", "", "nom"])
)


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@st.composite
def hostile_csv(draw: st.DrawFn) -> str:
    """A CSV text, often well formed, often not: raw cells are written unquoted."""
    header = draw(st.lists(header_names, min_size=1, max_size=5))
    if draw(st.booleans()):
        header = ["name", *header]
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 5))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        row = [draw(cells) for _ in range(max(width, 0))]
        quote = draw(st.booleans())
        lines.append(",".join(_quoted(c) if quote else c for c in row))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    return draw(st.sampled_from(["", "\ufeff"])) + text


# Pieces a tag may well hold: quotes, separators, formula starts, escapes, line breaks.
FRIENDLY = ['"', ",", "=", "+", "-", "@", "'", "'=", "|", "\\", "\\|", "é", "tag", " ", "x"]
friendly = st.lists(st.sampled_from(FRIENDLY), min_size=1, max_size=4).map("".join)


@st.composite
def plausible_csv(draw: st.DrawFn) -> str:
    """A well-formed CSV (quoted by the csv module) of cells that are mostly valid."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    header = ["name", "description", "aliases", "category", "exclusive"]
    writer.writerow(header)
    for i in range(draw(st.integers(1, 5))):
        description = draw(st.one_of(friendly, st.just("two\nlines"), st.just("")))
        alias = draw(st.one_of(st.just(""), friendly))
        aliases = f"a{i}{alias}" if alias else ""
        flag = draw(st.sampled_from(["", "true", "False"]))
        writer.writerow([f"T{i}{draw(friendly)}", description, aliases, draw(friendly), flag])
    return draw(st.sampled_from(["", "\ufeff"])) + out.getvalue()


json_values = st.one_of(
    cells,
    st.sampled_from([None, True, 1, 1.5, [], {}, ["a", 1], {"$gt": ""}, "tag_" + "f" * 24]),
)
json_keys = st.sampled_from(
    [
        "name",
        "slug",
        "color",
        "description",
        "category",
        "metadata",
        "aliases",
        "exclusive",
        "archived",
        "parent",
        "id",
        "\udc80",
    ]
)


@st.composite
def hostile_json(draw: st.DrawFn) -> tuple[str, str]:
    """(format, text): a JSON or GitHub-labels file; strings may hold lone surrogates,
    written as JSON escapes (what invalid UTF-8 becomes once decoded) or as they are."""
    tags = draw(st.lists(st.dictionaries(json_keys, json_values, max_size=5), max_size=4))
    if draw(st.booleans()):
        return "GITHUB_LABELS", json.dumps(tags)
    document: Any = {"version": draw(st.sampled_from([1, 1, 2, "1"])), "tags": tags}
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    return "JSON", text


CURATED: list[tuple[str, str]] = [
    ("CSV", '\ufeffname,slug\r\n"Quoted, ""name""",quoted\r\n'),
    ("CSV", 'name,description\r\n"Line\r\nbreak",fine\r\n'),
    ("CSV", 'name,description\r\nFine,"Two\nlines"\r\n'),
    ("CSV", 'name\r\n=HYPERLINK("http://x")\r\n\'=1+1\r\n@SUM(A1)\r\n-1\r\n+1\r\n'),
    ("CSV", "name,color\r\nOne\r\n"),
    ("CSV", "name\r\nOne,two,three\r\n"),
    ("CSV", "name\r\n" + "x" * (200 * 1024) + "\r\n"),
    ("CSV", 'name\r\n"never closed\r\n'),
    ("CSV", 'name\r\nbad"quote\r\n'),
    ("CSV", "name,aliases\r\nA,b|b\r\nB,\\\r\n"),
    ("JSON", '{"version": 1, "tags": [{"name": "\\udc80"}]}'),
    ("JSON", '{"version": 1, "tags": [{"name": "ok", "metadata": {"k": "\\ud800"}}]}'),
    ("JSON", '{"version": 1, "tags": [{"name": "ok", "aliases": ["\\udfff"]}]}'),
    ("JSON", '{"version": 1, "tags": [{"name": "ok", "metadata": {"\\udc80": 1}}]}'),
    ("JSON", '{"version": 1, "tags": [{"name": "n", "metadata": {"x": NaN}}]}'),
    ("JSON", '{"version": 1, "tags": [{"name": "n", "metadata": {"x": 1' + "0" * 5000 + "}}]}"),
    ("JSON", "[" * 100_000 + "]" * 100_000),
    ("JSON", '{"version": 1, "tags": [{"name": "a", "parent": "a"}]}'),
    ("GITHUB_LABELS", '[{"name": "\\ud83d", "color": "f29513"}]'),
    ("GITHUB_LABELS", '[{"name": "ok", "color": "#zzzzzz", "description": 5}]'),
]


@pytest.fixture(scope="module", autouse=True)
def report_case_count() -> Iterator[None]:
    yield
    print(f"\n[fuzz io] {CASES['io files']} files, {CASES['io accepted']} accepted")


async def run_file(client: httpx.AsyncClient, store: Store, file_format: str, content: str) -> None:
    CASES["io files"] += 1
    for name in ("tags", "taggings"):
        await getattr(store.database, name)._c.delete_many({})
    before = await snapshot(store)
    variables = {"input": {"workspaceId": WS, "format": file_format, "content": content}}
    response = await _post(client, IMPORT, variables)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    sent = json.dumps(variables, ensure_ascii=False)
    unsent = [marker for marker in LEAK_MARKERS if marker not in sent]
    for message in _messages(body):
        for marker in unsent:
            assert marker not in message, (marker, message)
    top = body.get("errors") or []
    for error in top:
        code = (error.get("extensions") or {}).get("code")
        assert code in ERROR_CODES and code != "INTERNAL_SERVER_ERROR", error
    payload = (body.get("data") or {}).get("importTags")
    if top or payload is None or payload["userErrors"]:
        for error in (payload or {}).get("userErrors") or []:
            assert error["code"] in USER_ERROR_CODES, error
            assert error["field"] and error["field"][0] == "content", error
        assert await snapshot(store) == before
        return
    CASES["io accepted"] += 1
    stored = (await client.post("/graphql", json={"query": TAGS})).json()["data"]["tags"]["nodes"]
    assert len(stored) == payload["created"]
    for tag in stored:
        _check_stored_tag(tag)
    await _exports_round_trip(client, store)


async def _exports_round_trip(client: httpx.AsyncClient, store: Store) -> None:
    """Whatever was accepted exports, in every format, to a file that changes nothing."""
    for file_format in ("JSON", "CSV", "GITHUB_LABELS"):
        exported = await client.post(
            "/graphql", json={"query": EXPORT, "variables": {"ws": WS, "f": file_format}}
        )
        content = exported.json()["data"]["exportTags"]["content"]
        before = await snapshot(store)
        variables = {"input": {"workspaceId": WS, "format": file_format, "content": content}}
        again = (
            await client.post("/graphql", json={"query": IMPORT, "variables": variables})
        ).json()
        payload = again["data"]["importTags"]
        assert payload["userErrors"] == [] and payload["created"] == payload["updated"] == 0, (
            file_format,
            content,
            payload,
        )
        assert await snapshot(store) == before


@pytest.mark.parametrize(("file_format", "content"), CURATED, ids=lambda v: repr(v)[:40])
async def test_curated_hostile_files(
    client: httpx.AsyncClient, store: Store, file_format: str, content: str
) -> None:
    await run_file(client, store, file_format, content)


@settings(FUZZ_SETTINGS, max_examples=120)
@given(content=hostile_csv())
async def test_hostile_csv(client: httpx.AsyncClient, store: Store, content: str) -> None:
    await run_file(client, store, "CSV", content)


@settings(FUZZ_SETTINGS, max_examples=80)
@given(content=plausible_csv())
async def test_plausible_csv(client: httpx.AsyncClient, store: Store, content: str) -> None:
    await run_file(client, store, "CSV", content)


@settings(FUZZ_SETTINGS, max_examples=80)
@given(case=hostile_json())
async def test_hostile_json(client: httpx.AsyncClient, store: Store, case: tuple[str, str]) -> None:
    await run_file(client, store, *case)


async def test_a_file_over_the_body_limit_is_413_and_invalid_utf8_is_400(
    client: httpx.AsyncClient, store: Store
) -> None:
    before = await snapshot(store)
    big = json.dumps(
        {
            "query": IMPORT,
            "variables": {
                "input": {
                    "workspaceId": WS,
                    "format": "CSV",
                    "content": "name\r\n" + "x" * (1 << 20),
                }
            },
        }
    )
    response = await client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    raw = (
        b'{"query": "' + IMPORT.replace("\n", " ").encode() + b'", "variables": {"input": '
        b'{"workspaceId": "ws-fuzz", "format": "CSV", "content": "name\\r\\n\xff\xfe"}}}'
    )
    response = await client.post(
        "/graphql", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert await snapshot(store) == before
