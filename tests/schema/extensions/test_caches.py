"""The document cache and the limits on a document's text: bounded by entries and characters."""

from __future__ import annotations

import logging

import httpx
import pytest
from graphql import GraphQLError, parse

from schema import TagsSchema, build_schema
from schema.extensions.document_cache import (
    CACHE_CHARS,
    CACHE_ENTRIES,
    MAX_DOCUMENT_CHARS,
    Checked,
    DocumentCache,
)
from tests.harness import Executor

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_INPUT = "BAD_USER_INPUT"


def entry() -> Checked:
    return Checked(parse("{ viewer { id } }"), [])


# The cache itself --------------------------------------------------------------------------


def test_entries_are_bounded_by_count() -> None:
    cache = DocumentCache(entries=3, chars=10_000)
    for text in ("a", "b", "c"):
        cache.put(text, entry())
    assert len(cache) == 3
    cache.get("a")  # now the most recently used
    cache.put("d", entry())
    assert len(cache) == 3
    assert cache.get("b") is None
    assert all(cache.get(t) is not None for t in ("a", "c", "d"))


def test_entries_are_bounded_by_total_characters() -> None:
    cache = DocumentCache(entries=100, chars=30)
    cache.put("x" * 10, entry())
    cache.put("y" * 20, entry())
    assert cache.chars == 30 and len(cache) == 2  # exactly at the bound: both kept
    cache.put("z", entry())  # one character over: the oldest goes
    assert cache.get("x" * 10) is None
    assert cache.chars == 21 and len(cache) == 2
    cache.put("w" * 31, entry())  # larger than the whole cache: never kept
    assert cache.get("w" * 31) is None and cache.chars == 21


def test_the_schema_cache_stays_within_its_bounds() -> None:
    cache = build_schema().document_cache
    assert (cache.max_entries, cache.max_chars) == (CACHE_ENTRIES, CACHE_CHARS)
    padding = "#" + "p" * (MAX_DOCUMENT_CHARS - 100) + "\n"
    for i in range(CACHE_CHARS // len(padding) + 5):
        checked = Checked(parse("{ viewer { id } }"), [])
        cache.put(f"{padding}{{ a{i}: viewer {{ id }} }}", checked)
    # Full, but never past its characters: the texts are far fewer than its entries.
    assert CACHE_CHARS - len(padding) - 30 < cache.chars <= CACHE_CHARS
    assert len(cache) < CACHE_ENTRIES


async def test_a_document_is_parsed_and_validated_once(gql: Executor) -> None:
    cache = gql.schema.document_cache
    text = "{ viewer { id cached: id } }"
    first = await gql(text)
    assert first.errors == []
    checked = cache.get(text)
    assert checked is not None
    again = await gql(text)
    assert again.data == first.data
    assert cache.get(text) is checked


async def test_a_cached_invalid_document_stays_refused(gql: Executor) -> None:
    text = "{ viewer { nope } }"
    for _ in range(2):
        result = await gql(text)
        assert result.data is None
        assert result.error_codes == [BAD_INPUT]


# Document length: comments and whitespace count -----------------------------------------------


def padded(length: int) -> str:
    query = "{ viewer { id } }\n#"
    return query + "c" * (length - len(query))


async def test_document_length_limit(gql: Executor) -> None:
    inside = await gql(padded(MAX_DOCUMENT_CHARS))
    assert inside.errors == [], inside.errors

    over = await gql(padded(MAX_DOCUMENT_CHARS + 1))
    assert over.data is None
    assert over.error_codes == [TOO_COMPLEX]
    assert "cost" not in over.extensions
    assert gql.schema.document_cache.get(padded(MAX_DOCUMENT_CHARS + 1)) is None


async def test_whitespace_counts_too(client: httpx.AsyncClient) -> None:
    query = "{ viewer { id } }" + " " * MAX_DOCUMENT_CHARS
    body = (await client.post("/graphql", json={"query": query})).json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [TOO_COMPLEX]


# Huge integers ---------------------------------------------------------------------------------


def first(digits: str) -> str:
    return f'{{ tags(workspaceId: "ws", first: {digits}) {{ totalCount }} }}'


@pytest.mark.parametrize("digits", ["1" + "0" * 19, "9" * 4400, "-" + "9" * 5000])
async def test_huge_integer_literals_are_bad_input_without_a_traceback(
    gql: Executor, caplog: pytest.LogCaptureFixture, digits: str
) -> None:
    with caplog.at_level(logging.ERROR):
        result = await gql(first(digits))
    assert result.data is None
    assert result.error_codes == [BAD_INPUT], result.errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_integer_digits_bound(gql: Executor) -> None:
    # 20 digits: graphql-core's own Int check answers; 21: refused before it can overflow.
    inside = await gql(first("1" + "0" * 19))
    assert "32-bit" in inside.errors[0]["message"]
    over = await gql(first("1" + "0" * 20))
    assert "more than 20 digits" in over.errors[0]["message"]
    assert over.error_codes == inside.error_codes == [BAD_INPUT]


async def test_huge_integer_variables_are_refused(client: httpx.AsyncClient) -> None:
    query = 'query($n: Int) { tags(workspaceId: "ws", first: $n) { totalCount } }'
    body = b'{"query": "%s", "variables": {"n": %s}}' % (
        query.replace('"', '\\"').encode(),
        b"9" * 4400,
    )
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == [BAD_INPUT]


def test_checked_errors_are_graphql_errors(schema: TagsSchema) -> None:
    # What the pipeline hands Strawberry as validation errors.
    from schema.extensions.document_cache import check

    checked = check(schema._schema, first("9" * 30), ())
    assert all(isinstance(e, GraphQLError) for e in checked.errors)
