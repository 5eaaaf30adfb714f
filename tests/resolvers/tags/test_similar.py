"""similarTags: the contract's closeness rules, its order, and the store's prefilter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from resolvers.normalization import search_key
from resolvers.tags.similar import closeness, max_edits, prefilter
from storage.tags import compact_key, similar_keys
from tests.harness import Executor
from tests.helpers import OTHER_WS, WS, create_tag, tag_resources

SIMILAR = """
query Similar($ws: ID!, $name: String!, $first: Int) {
  similarTags(workspaceId: $ws, name: $name, first: $first) { id name }
}
"""


async def similar(gql: Executor, name: str, first: int | None = None) -> list[str]:
    variables = {"ws": WS, "name": name, **({"first": first} if first is not None else {})}
    result = await gql(SIMILAR, variables)
    return [t["name"] for t in result.ok()["similarTags"]]


@pytest.mark.parametrize(
    ("name", "close"),
    [
        ("tsql", ["T-SQL"]),  # spaces and punctuation ignored
        ("bird", ["Birds"]),  # one trailing s
        ("Café", ["cafe", "Cafes"]),  # accents ignored; equal first
        ("grafql", ["GraphQL"]),  # 2 edits for a long name
        ("rect", ["React"]),  # 1 edit for a short one
        ("recat", ["React"]),  # a swap of neighbours is one edit
    ],
)
async def test_rules(gql: Executor, name: str, close: list[str]) -> None:
    for n in ["T-SQL", "Birds", "cafe", "Cafes", "GraphQL", "React", "Vue", "Angular"]:
        await create_tag(gql, n)
    assert await similar(gql, name) == close


async def test_edit_limit_follows_length(gql: Executor) -> None:
    await create_tag(gql, "bug")
    await create_tag(gql, "Android")
    assert await similar(gql, "bxx") == []  # 2 edits from a short name: too far
    assert await similar(gql, "Andrxxd") == ["Android"]  # 2 edits, 7 characters
    assert await similar(gql, "Anxxxid") == []  # 3 edits


async def test_order_equal_first_then_edits_usage_name(gql: Executor) -> None:
    tags = {n: await create_tag(gql, n) for n in ["Rust", "rusty", "Dust", "Bust", "Ruts"]}
    await tag_resources(gql, [tags["Dust"]["id"]], [("task", "1")])
    # Rust is equal; the others are 1 edit (a substitution, an insertion, a swap):
    # Dust by its usage, then by name.
    assert await similar(gql, "RUST", first=20) == ["Rust", "Dust", "Bust", "rusty", "Ruts"]
    assert await similar(gql, "RUST", first=2) == ["Rust", "Dust"]
    assert await similar(gql, "RUST", first=0) == []


async def test_bad_arguments_and_workspaces(gql: Executor) -> None:
    await create_tag(gql, "Design", workspace=OTHER_WS)
    assert await similar(gql, "design") == []
    for first in (-1, 21):
        result = await gql(SIMILAR, {"ws": WS, "name": "x", "first": first})
        assert result.error_codes == ["BAD_USER_INPUT"]
    result = await gql(SIMILAR, {"ws": WS, "name": "a\x00b"})
    assert result.error_codes == ["BAD_USER_INPUT"]
    assert await similar(gql, "   ") == []


async def test_two_store_calls(gql: Executor) -> None:
    for n in ["alpha", "alpha2", "alphas", "beta"]:
        await create_tag(gql, n)
    result = await gql(SIMILAR, {"ws": WS, "name": "alpha"})
    assert [t["name"] for t in result.ok()["similarTags"]] == ["alpha", "alpha2", "alphas"]
    assert result.round_trips == 2


# The prefilter must never drop a close tag: checked against the rules themselves.
WORDS = st.text(alphabet="abS -.é", min_size=1, max_size=9).map(lambda s: " ".join(s.split()))


@given(name=WORDS, other=WORDS)
def test_prefilter_keeps_every_close_name(name: str, other: str) -> None:
    if not name or not other:
        return
    key, other_key = search_key(name), search_key(other)
    doc = {"nameKey": other.casefold(), "searchKey": other_key}
    if closeness(doc, name.casefold(), key, max_edits(name)) is None:
        return
    # The store returns the tag when one of its similarKeys is looked up.
    assert set(prefilter(key, max_edits(name))) & set(similar_keys([other_key]))


EDIT_ALPHABET = "abcdefghij -.é1"


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str, int]:
    """A key, the same key after up to its edit limit of random edits, and the limit."""
    key = draw(st.text(alphabet=EDIT_ALPHABET, min_size=1, max_size=14))
    edits = max_edits(key)
    other = list(key)
    for _ in range(draw(st.integers(0, edits))):
        kind = draw(st.sampled_from(["insert", "delete", "substitute", "swap"]))
        at = draw(st.integers(0, max(0, len(other) - 1)))
        char = draw(st.sampled_from(EDIT_ALPHABET))
        if kind == "insert":
            other.insert(at, char)
        elif kind == "delete" and len(other) > 1:
            del other[at]
        elif kind == "substitute" and other:
            other[at] = char
        elif kind == "swap" and at + 1 < len(other):
            other[at], other[at + 1] = other[at + 1], other[at]
    return key, "".join(other), edits


@given(case=edited())
def test_prefilter_finds_every_key_within_the_edits(case: tuple[str, str, int]) -> None:
    key, other, edits = case
    assert set(prefilter(key, edits)) & set(similar_keys([other]))


def test_prefilter_leaves_far_keys_out() -> None:
    # Not a superset of everything: other lengths and other letters are not looked up.
    assert not set(prefilter("graph", 1)) & set(similar_keys(["kubernetes"]))
    assert not set(prefilter("abcdef", 2)) & set(similar_keys(["fffggg"]))
    assert set(prefilter("data base", 2)) & set(similar_keys(["d.a.t.a-b.a.s.e"]))


def test_closeness_matches_the_rules() -> None:
    assert compact_key("t-sql 2") == "tsql2"
    doc = {"nameKey": "t-sql", "searchKey": "t-sql"}
    assert closeness(doc, "tsql", "tsql", 1) == (1, 0)
    assert OSA.distance("recat", "react") == 1
