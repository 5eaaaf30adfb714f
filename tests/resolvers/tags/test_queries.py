"""The `tags` connection: filters, orders and keyset pagination, through the schema."""

from __future__ import annotations

import asyncio
import base64
import unicodedata
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolvers.authorization import WRITE, Principal
from schema import TagsSchema
from tests.harness import Executor, open_test_store
from tests.helpers import CREATE_TAG, DELETE_TAG, OTHER_WS, UPDATE_TAG, WS, create_tag

LIST = """
query List(
  $ws: ID!, $filter: TagFilter, $orderBy: TagOrder,
  $first: Int, $after: String, $last: Int, $before: String
) {
  tags(
    workspaceId: $ws, filter: $filter, orderBy: $orderBy,
    first: $first, after: $after, last: $last, before: $before
  ) {
    totalCount
    edges { cursor node { id name createdAt updatedAt } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

CREATE_TAGS = """
mutation CreateMany($input: CreateTagsInput!) {
  createTags(input: $input) {
    tags { id name createdAt updatedAt }
    userErrors { code field message }
  }
}
"""

DELETE_TAGS = """
mutation DeleteMany($input: DeleteTagsInput!) {
  deleteTags(input: $input) { deletedIds notFoundIds userErrors { code field message } }
}
"""

UNKNOWN_ID = "tag_" + "0" * 24
ALICE = Principal(id="alice", scopes=(WRITE,), workspace_ids=(WS,))


# --- helpers -----------------------------------------------------------------------


async def bulk(gql: Executor, names: list[str], workspace: str = WS) -> list[dict[str, Any]]:
    """Create tags with createTags (one call per 100); returns them in input order."""
    created: list[dict[str, Any]] = []
    for start in range(0, len(names), 100):
        drafts = [{"name": n} for n in names[start : start + 100]]
        result = await gql(CREATE_TAGS, {"input": {"workspaceId": workspace, "tags": drafts}})
        payload = result.ok()["createTags"]
        assert payload["userErrors"] == [], payload["userErrors"]
        created += payload["tags"]
    return created


async def page(gql: Executor, workspace: str = WS, **args: Any) -> dict[str, Any]:
    """One page of `tags`, checked for internal consistency."""
    result = await gql(LIST, {"ws": workspace, **args})
    conn = result.ok()["tags"]
    edges = conn["edges"]
    assert [n["id"] for n in conn["nodes"]] == [e["node"]["id"] for e in edges]
    info = conn["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    return conn


def names_of(conn: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in conn["edges"]]


def flags(conn: dict[str, Any]) -> tuple[bool, bool]:
    """(hasPreviousPage, hasNextPage)"""
    return conn["pageInfo"]["hasPreviousPage"], conn["pageInfo"]["hasNextPage"]


async def filtered(gql: Executor, workspace: str = WS, **filter_: Any) -> list[str]:
    conn = await page(gql, workspace, filter=filter_, first=100)
    assert conn["totalCount"] == len(conn["edges"])
    return names_of(conn)


async def bad_input(gql: Executor, **args: Any) -> None:
    result = await gql(LIST, {"ws": WS, **args})
    assert result.error_codes == ["BAD_USER_INPUT"], result.errors
    assert result.data is None


async def delete(gql: Executor, tag_id: str) -> None:
    payload = (await gql(DELETE_TAG, {"input": {"id": tag_id}})).ok()["deleteTag"]
    assert payload["userErrors"] == []


async def walk(
    gql: Executor, order: dict[str, str] | None, size: int, backward: bool = False
) -> list[str]:
    """All names, page by page, forwards (first/after) or backwards (last/before)."""
    names: list[str] = []
    cursor = None
    for _ in range(100):
        if backward:
            conn = await page(gql, orderBy=order, last=size, before=cursor)
            names = names_of(conn) + names
            if not conn["pageInfo"]["hasPreviousPage"]:
                return names
            cursor = conn["pageInfo"]["startCursor"]
        else:
            conn = await page(gql, orderBy=order, first=size, after=cursor)
            names += names_of(conn)
            if not conn["pageInfo"]["hasNextPage"]:
                return names
            cursor = conn["pageInfo"]["endCursor"]
    raise AssertionError("the walk did not end")


def cursor_of(payload: Any) -> str:
    raw = orjson.dumps(payload)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- filters -------------------------------------------------------------------------


async def test_search_is_case_and_accent_insensitive_substring(gql: Executor) -> None:
    await bulk(gql, ["Café au lait", "Cafeteria", "Black Tea", "CAFÉ NOIR", "Decaf"])
    expected = {"Café au lait", "Cafeteria", "CAFÉ NOIR"}
    assert set(await filtered(gql, search="cafe")) == expected
    assert set(await filtered(gql, search="CAFÉ")) == expected
    assert set(await filtered(gql, search="Cafe\u0301")) == expected
    assert set(await filtered(gql, search="caf")) == expected | {"Decaf"}
    assert await filtered(gql, search="AU LAIT") == ["Café au lait"]
    assert await filtered(gql, search="tea") == ["Black Tea"]
    assert await filtered(gql, search="zzz") == []


async def test_search_empty_string_is_no_filter(gql: Executor) -> None:
    await bulk(gql, ["One", "Two", "Three"])
    conn = await page(gql, filter={"search": ""})
    assert conn["totalCount"] == 3
    assert names_of(conn) == ["One", "Three", "Two"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("(", ["C++ (advanced)"]),
        (")", ["C++ (advanced)"]),
        ("+", ["C++ (advanced)"]),
        ("++ (", ["C++ (advanced)"]),
        (".", ["a.b"]),
        ("a.b", ["a.b"]),
        ("*", ["a*b"]),
        ("a*b", ["a*b"]),
        ("[", ["[x]"]),
        ("[x]", ["[x]"]),
        ("]", ["[x]"]),
        ("?", ["what?"]),
        ("|", ["a|b"]),
        ("^", ["^start"]),
        ("$", ["end$"]),
        ("\\", ["back\\slash"]),
        ("{", ["{braces}"]),
        ("}", ["{braces}"]),
        (".*", []),
        ("a+", []),
        ("[a-z]", []),
        ("\\d", []),
        ("(?i)", []),
        ("#", ["#hash"]),
        ("-", ["dash-ed"]),
        ("/", ["slash/ed"]),
    ],
)
async def test_search_matches_regex_metacharacters_literally(
    gql: Executor, search: str, expected: list[str]
) -> None:
    await bulk(
        gql,
        [
            "C++ (advanced)",
            "a.b",
            "axb",
            "a*b",
            "aab",
            "ab",
            "[x]",
            "x",
            "what?",
            "a|b",
            "^start",
            "end$",
            "back\\slash",
            "{braces}",
            "#hash",
            "dash-ed",
            "slash/ed",
        ],
    )
    assert await filtered(gql, search=search) == expected


FUZZ_NAMES = [
    "C++ (advanced)",
    "a.b",
    "A*B",
    "[x] café",
    "what? no|yes",
    "^start$",
    "back\\slash",
    "{braces} É",
    "plain",
    "Éclair (new)",
]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(alphabet="ab.*+?()[]{}|^$\\éÉxcC", min_size=1, max_size=4))
async def test_search_never_crashes_and_matches_a_literal_substring(
    gql: Executor, query: str
) -> None:
    # The fixture's store lives across examples: create the names once.
    if (await page(gql, "ws-fuzz", first=0))["totalCount"] == 0:
        await bulk(gql, FUZZ_NAMES, workspace="ws-fuzz")
    found = await filtered(gql, "ws-fuzz", search=query)
    assert sorted(found) == sorted(n for n in FUZZ_NAMES if fold(query) in fold(n))


async def test_category_filter_is_exact_and_case_insensitive(gql: Executor) -> None:
    await create_tag(gql, "A", category="topic")
    await create_tag(gql, "B", category="TOPIC")
    await create_tag(gql, "C", category="Topics")
    await create_tag(gql, "D")
    await create_tag(gql, "E", category="Café")
    assert await filtered(gql, category="Topic") == ["A", "B"]
    assert await filtered(gql, category="topics") == ["C"]
    assert await filtered(gql, category="top") == []
    assert await filtered(gql, category="CAFÉ") == ["E"]
    assert await filtered(gql, category="cafe") == []


async def test_ids_filter(gql: Executor) -> None:
    a, b, c = await bulk(gql, ["a", "b", "c"])
    [x] = await bulk(gql, ["x"], workspace=OTHER_WS)
    ids = [c["id"], "garbage", a["id"], x["id"], UNKNOWN_ID, a["id"]]
    assert await filtered(gql, ids=ids) == ["a", "c"]
    assert await filtered(gql, ids=["garbage"]) == []
    assert await filtered(gql, ids=[]) == []
    hundred = [b["id"]] + [f"tag_{i:024x}" for i in range(99)]
    assert await filtered(gql, ids=hundred) == ["b"]
    await bad_input(gql, filter={"ids": [*hundred, a["id"]]})


async def test_created_by_filter_and_combined_filters(gql: Executor) -> None:
    async def as_alice(name: str, **fields: Any) -> None:
        variables = {"input": {"workspaceId": WS, "name": name, **fields}}
        payload = (await gql(CREATE_TAG, variables, principal=ALICE)).ok()["createTag"]
        assert payload["userErrors"] == []
        assert payload["tag"]["createdBy"] == "alice"

    apple = await create_tag(gql, "Apple", category="fruit")
    await as_alice("Apricot", category="fruit")
    await as_alice("Avocado", category="veg")
    await as_alice("Banana", category="Fruit")
    assert await filtered(gql, createdBy="alice") == ["Apricot", "Avocado", "Banana"]
    assert await filtered(gql, createdBy="dev") == ["Apple"]
    assert await filtered(gql, createdBy="nobody") == []
    assert await filtered(gql, search="ap") == ["Apple", "Apricot"]
    assert await filtered(gql, search="ap", category="FRUIT") == ["Apple", "Apricot"]
    assert await filtered(gql, search="ap", category="fruit", createdBy="alice") == ["Apricot"]
    assert await filtered(gql, category="fruit", createdBy="alice") == ["Apricot", "Banana"]
    assert await filtered(gql, ids=[apple["id"]], createdBy="alice") == []
    assert await filtered(gql, search="a", category="veg") == ["Avocado"]


async def test_total_count_follows_the_filter_across_pages(gql: Executor) -> None:
    await bulk(gql, [f"keep {i}" for i in range(5)] + [f"drop {i}" for i in range(3)])
    first = await page(gql, filter={"search": "keep"}, first=2)
    assert first["totalCount"] == 5
    assert flags(first) == (False, True)
    second = await page(
        gql, filter={"search": "keep"}, first=2, after=first["pageInfo"]["endCursor"]
    )
    assert second["totalCount"] == 5
    assert names_of(first) + names_of(second) == [f"keep {i}" for i in range(4)]


# --- orders -------------------------------------------------------------------------


async def test_name_order_is_case_insensitive_and_default(gql: Executor) -> None:
    await bulk(gql, ["banana", "Apple", "cherry", "apricot", "Blueberry", "avocado"])
    expected = ["Apple", "apricot", "avocado", "banana", "Blueberry", "cherry"]
    assert names_of(await page(gql)) == expected
    assert names_of(await page(gql, orderBy={"field": "NAME"})) == expected
    assert names_of(await page(gql, orderBy={"field": "NAME", "direction": "ASC"})) == expected
    desc = names_of(await page(gql, orderBy={"field": "NAME", "direction": "DESC"}))
    assert desc == expected[::-1]


async def test_created_at_order(gql: Executor) -> None:
    names = ["m", "c", "x", "a", "q"]
    for name in names:
        await create_tag(gql, name)
        await asyncio.sleep(0.003)
    asc = await page(gql, orderBy={"field": "CREATED_AT", "direction": "ASC"})
    assert names_of(asc) == names
    stamps = [e["node"]["createdAt"] for e in asc["edges"]]
    assert stamps == sorted(stamps)
    desc = await page(gql, orderBy={"field": "CREATED_AT", "direction": "DESC"})
    assert names_of(desc) == names[::-1]


async def test_updated_at_order(gql: Executor) -> None:
    tags = {}
    for name in ["A", "B", "C", "D"]:
        tags[name] = await create_tag(gql, name)
        await asyncio.sleep(0.003)
    for name in ["C", "A"]:
        result = await gql(
            UPDATE_TAG, {"input": {"id": tags[name]["id"], "description": "touched"}}
        )
        assert result.ok()["updateTag"]["userErrors"] == []
        await asyncio.sleep(0.003)
    asc = await page(gql, orderBy={"field": "UPDATED_AT", "direction": "ASC"})
    assert names_of(asc) == ["B", "D", "C", "A"]
    desc = await page(gql, orderBy={"field": "UPDATED_AT", "direction": "DESC"})
    assert names_of(desc) == ["A", "C", "D", "B"]
    # Creation order is unaffected by the updates.
    created = await page(gql, orderBy={"field": "CREATED_AT"})
    assert names_of(created) == ["A", "B", "C", "D"]


@pytest.mark.parametrize("field", ["NAME", "CREATED_AT", "UPDATED_AT"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_walks_in_every_order_match_the_full_list(
    gql: Executor, field: str, direction: str
) -> None:
    # One batch: many tags share a creation millisecond, so ties must be broken stably.
    await bulk(gql, [f"Tag {i:02d}" for i in (7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6)])
    order = {"field": field, "direction": direction}
    full = names_of(await page(gql, orderBy=order))
    assert sorted(full) == sorted(f"Tag {i:02d}" for i in range(12))
    if field == "NAME":
        expected = [f"Tag {i:02d}" for i in range(12)]
        assert full == (expected if direction == "ASC" else expected[::-1])
    for size in (2, 5):
        assert await walk(gql, order, size) == full
        assert await walk(gql, order, size, backward=True) == full


# --- pagination ------------------------------------------------------------------------

SEVEN = [f"t{i}" for i in range(1, 8)]


async def seven(gql: Executor) -> None:
    await bulk(gql, ["t4", "t1", "t7", "t2", "t6", "t3", "t5"])


async def test_forward_walk(gql: Executor) -> None:
    await seven(gql)
    p1 = await page(gql, first=3)
    assert names_of(p1) == ["t1", "t2", "t3"]
    assert flags(p1) == (False, True)
    assert p1["totalCount"] == 7
    p2 = await page(gql, first=3, after=p1["pageInfo"]["endCursor"])
    assert names_of(p2) == ["t4", "t5", "t6"]
    assert flags(p2) == (True, True)
    assert p2["totalCount"] == 7
    p3 = await page(gql, first=3, after=p2["pageInfo"]["endCursor"])
    assert names_of(p3) == ["t7"]
    assert flags(p3) == (True, False)
    assert p3["totalCount"] == 7
    # Every edge's cursor is a valid place to continue from.
    mid = await page(gql, first=2, after=p1["edges"][1]["cursor"])
    assert names_of(mid) == ["t3", "t4"]
    assert flags(mid) == (True, True)


async def test_forward_page_exactly_at_the_end(gql: Executor) -> None:
    await seven(gql)
    whole = await page(gql, first=7)
    assert names_of(whole) == SEVEN
    assert flags(whole) == (False, False)
    assert flags(await page(gql, first=6)) == (False, True)
    past = await page(gql, first=3, after=whole["pageInfo"]["endCursor"])
    assert names_of(past) == []
    assert past["pageInfo"]["hasNextPage"] is False
    assert past["pageInfo"]["hasPreviousPage"] is True
    assert past["totalCount"] == 7


async def test_backward_walk(gql: Executor) -> None:
    await seven(gql)
    p1 = await page(gql, last=3)
    assert names_of(p1) == ["t5", "t6", "t7"]
    assert flags(p1) == (True, False)
    assert p1["totalCount"] == 7
    p2 = await page(gql, last=3, before=p1["pageInfo"]["startCursor"])
    assert names_of(p2) == ["t2", "t3", "t4"]
    assert flags(p2) == (True, True)
    p3 = await page(gql, last=3, before=p2["pageInfo"]["startCursor"])
    assert names_of(p3) == ["t1"]
    assert flags(p3) == (False, True)
    assert p3["totalCount"] == 7
    whole = await page(gql, last=7)
    assert names_of(whole) == SEVEN
    assert flags(whole) == (False, False)
    before_first = await page(gql, last=3, before=whole["pageInfo"]["startCursor"])
    assert names_of(before_first) == []
    assert before_first["pageInfo"]["hasPreviousPage"] is False
    assert before_first["pageInfo"]["hasNextPage"] is True


async def test_after_and_before_together(gql: Executor) -> None:
    await seven(gql)
    edges = (await page(gql))["edges"]
    after, before = edges[1]["cursor"], edges[5]["cursor"]  # t2 .. t6
    assert names_of(await page(gql, after=after, before=before)) == ["t3", "t4", "t5"]
    forwards = await page(gql, first=2, after=after, before=before)
    assert names_of(forwards) == ["t3", "t4"]
    assert forwards["pageInfo"]["hasNextPage"] is True
    backwards = await page(gql, last=2, after=after, before=before)
    assert names_of(backwards) == ["t4", "t5"]
    assert backwards["pageInfo"]["hasPreviousPage"] is True


async def test_default_page_size_is_50(gql: Executor) -> None:
    await bulk(gql, [f"n{i:02d}" for i in range(60)])
    p1 = await page(gql)
    assert names_of(p1) == [f"n{i:02d}" for i in range(50)]
    assert flags(p1) == (False, True)
    assert p1["totalCount"] == 60
    p2 = await page(gql, after=p1["pageInfo"]["endCursor"])
    assert names_of(p2) == [f"n{i:02d}" for i in range(50, 60)]
    assert flags(p2) == (True, False)
    assert p2["totalCount"] == 60
    # Only `before`: the 50 items just before it (`last: 50`).
    before_last = await page(gql, before=p2["pageInfo"]["endCursor"])
    assert names_of(before_last) == [f"n{i:02d}" for i in range(9, 59)]
    assert flags(before_last) == (True, True)
    hundred = await page(gql, first=100)
    assert len(hundred["edges"]) == 60
    assert flags(hundred) == (False, False)


async def test_first_and_last_zero(gql: Executor) -> None:
    empty = await page(gql, first=0)
    assert empty["edges"] == []
    assert flags(empty) == (False, False)
    assert empty["totalCount"] == 0
    await bulk(gql, ["a", "b"])
    none = await page(gql, first=0)
    assert none["edges"] == [] and none["nodes"] == []
    assert flags(none) == (False, True)
    assert none["totalCount"] == 2
    none = await page(gql, last=0)
    assert none["edges"] == []
    assert flags(none) == (True, False)
    assert none["totalCount"] == 2


@pytest.mark.parametrize(
    "args",
    [
        {"first": 1, "last": 1},
        {"first": 0, "last": 0},
        {"first": -1},
        {"last": -1},
        {"first": 101},
        {"last": 101},
        {"after": "not a cursor!!"},
        {"before": "%%%"},
        {"after": ""},
        {"after": "bm9wZQ"},  # base64 of "nope"
        {"after": cursor_of({"NAME": "x"})},
        {"after": cursor_of(["NAME", "x"])},
        {"after": cursor_of(["NAME", 1, "tag_" + "0" * 24])},
        {"after": cursor_of(["NAME", {"$gt": ""}, "tag_" + "0" * 24])},
        {"before": cursor_of(["CREATED_AT", {"t": "soon"}, "tag_" + "0" * 24])},
        {"after": cursor_of(["RESOURCES", {"t": 0}, "x"])},
    ],
)
async def test_bad_arguments(gql: Executor, args: dict[str, Any]) -> None:
    await create_tag(gql, "Something")
    await bad_input(gql, **args)


async def test_cursor_from_another_order_is_bad_input(gql: Executor) -> None:
    await bulk(gql, ["a", "b", "c"])
    by_name = (await page(gql, first=1))["pageInfo"]["endCursor"]
    created = (await page(gql, first=1, orderBy={"field": "CREATED_AT"}))["pageInfo"]["endCursor"]
    updated = (await page(gql, first=1, orderBy={"field": "UPDATED_AT"}))["pageInfo"]["endCursor"]
    await bad_input(gql, after=by_name, orderBy={"field": "CREATED_AT"})
    await bad_input(gql, before=by_name, orderBy={"field": "UPDATED_AT", "direction": "DESC"})
    await bad_input(gql, after=created, orderBy={"field": "UPDATED_AT"})
    await bad_input(gql, after=updated, orderBy={"field": "CREATED_AT"})
    await bad_input(gql, after=created)
    # Each cursor works with its own order.
    assert len((await page(gql, after=created, orderBy={"field": "CREATED_AT"}))["edges"]) == 2


@pytest.mark.parametrize(
    "order",
    [
        {"field": "NAME", "direction": "ASC"},
        {"field": "NAME", "direction": "DESC"},
        {"field": "CREATED_AT", "direction": "ASC"},
        {"field": "UPDATED_AT", "direction": "DESC"},
    ],
)
async def test_cursor_survives_deletion_of_its_tag(gql: Executor, order: dict[str, str]) -> None:
    await bulk(gql, [f"t{i}" for i in range(1, 7)])
    full = await page(gql, orderBy=order)
    names = names_of(full)
    by_name = {e["node"]["name"]: e for e in full["edges"]}
    p1 = await page(gql, orderBy=order, first=2)
    assert names_of(p1) == names[:2]
    await delete(gql, by_name[names[1]]["node"]["id"])  # the tag endCursor points at
    p2 = await page(gql, orderBy=order, first=2, after=p1["pageInfo"]["endCursor"])
    assert names_of(p2) == names[2:4]
    assert flags(p2) == (True, True)
    assert p2["totalCount"] == 5
    # Backwards from a deleted tag too.
    cursor = by_name[names[4]]["cursor"]
    await delete(gql, by_name[names[4]]["node"]["id"])
    back = await page(gql, orderBy=order, last=2, before=cursor)
    assert names_of(back) == [names[2], names[3]]
    assert flags(back) == (True, True)
    # A cursor whose tag is gone and that had nothing after it still ends cleanly.
    last_cursor = by_name[names[5]]["cursor"]
    await delete(gql, by_name[names[5]]["node"]["id"])
    tail = await page(gql, orderBy=order, first=5, after=last_cursor)
    assert tail["edges"] == []
    assert tail["pageInfo"]["hasNextPage"] is False


async def test_workspaces_do_not_mix_in_lists(gql: Executor) -> None:
    await bulk(gql, ["here 1", "here 2"])
    await bulk(gql, ["there 1"], workspace=OTHER_WS)
    conn = await page(gql)
    assert names_of(conn) == ["here 1", "here 2"]
    assert conn["totalCount"] == 2
    assert names_of(await page(gql, OTHER_WS)) == ["there 1"]


# --- property: walks under concurrent inserts and deletes ---------------------------------

ORDER_CHOICES = [
    {"field": field, "direction": direction}
    for field in ("NAME", "CREATED_AT", "UPDATED_AT")
    for direction in ("ASC", "DESC")
]
LABELS = st.text(alphabet="aBcD", min_size=1, max_size=3)


def primary_key(node: dict[str, Any], field: str) -> str:
    if field == "NAME":
        return node["name"].casefold()  # ASCII names: casefold is the whole key
    return node["createdAt"] if field == "CREATED_AT" else node["updatedAt"]


# One step of a walk: a page size, then names to insert and tags to delete
# before the next page (deletions as fractions of the living tags, in name order).
STEP = st.fixed_dictionaries(
    {
        "size": st.integers(min_value=1, max_value=6),
        "insert": st.lists(LABELS, max_size=3),
        "delete": st.lists(st.floats(0, 1, exclude_max=True), max_size=2),
        "delete_cursor_tag": st.booleans(),
    }
)
# When the drawn steps run out, the walk goes on with plain pages.
PLAIN_STEP: dict[str, Any] = {"size": 6, "insert": [], "delete": [], "delete_cursor_tag": False}


async def run_walk(schema: TagsSchema, data: st.DataObject, backward: bool) -> None:
    # Everything is drawn before the walk starts: what the walk then meets (random
    # ids, ties between equal timestamps) must not steer what Hypothesis draws, or
    # it sees "inconsistent data generation" between examples.
    initial = data.draw(st.lists(LABELS, min_size=0, max_size=25), label="initial")
    order = data.draw(st.sampled_from(ORDER_CHOICES), label="order")
    steps: list[dict[str, Any]] = data.draw(st.lists(STEP, max_size=30), label="steps")
    async with open_test_store("tags_walk") as store:
        gql = Executor(schema, store)
        counter = iter(range(10_000))

        def fresh_names(labels: list[str]) -> list[str]:
            # The counter keeps names unique; the labels spread them over the order.
            return [f"{label} {next(counter)}" for label in labels]

        alive: dict[str, dict[str, Any]] = {}
        for tag in await bulk(gql, fresh_names(initial)) if initial else []:
            alive[tag["id"]] = tag
        whole_walk = set(alive)
        seen: list[dict[str, Any]] = []
        cursor = None
        for number in range(200):
            step = steps[number] if number < len(steps) else PLAIN_STEP
            size = step["size"]
            if backward:
                conn = await page(gql, orderBy=order, last=size, before=cursor)
            else:
                conn = await page(gql, orderBy=order, first=size, after=cursor)
            nodes = [e["node"] for e in conn["edges"]]
            assert len(nodes) <= size
            assert conn["totalCount"] == len(alive)
            assert all(n["id"] in alive for n in nodes)
            seen = nodes + seen if backward else seen + nodes
            info = conn["pageInfo"]
            more = info["hasPreviousPage"] if backward else info["hasNextPage"]
            if not more:
                break
            assert nodes, "a page with more beyond it cannot be empty"
            cursor = info["startCursor"] if backward else info["endCursor"]

            if step["insert"]:
                for tag in await bulk(gql, fresh_names(step["insert"])):
                    alive[tag["id"]] = tag
            living = sorted(alive, key=lambda i: alive[i]["name"])
            victims = [living[int(f * len(living))] for f in step["delete"] if living]
            if step["delete_cursor_tag"]:
                edge = conn["edges"][0] if backward else conn["edges"][-1]
                victims = [*victims, edge["node"]["id"]]
            victims = [v for v in dict.fromkeys(victims) if v in alive]
            if victims:
                result = await gql(DELETE_TAGS, {"input": {"workspaceId": WS, "ids": victims}})
                payload = result.ok()["deleteTags"]
                assert payload["userErrors"] == []
                assert sorted(payload["deletedIds"]) == sorted(victims)
                for victim in victims:
                    del alive[victim]
                    whole_walk.discard(victim)
        else:
            raise AssertionError("the walk did not end")

        ids = [n["id"] for n in seen]
        assert len(ids) == len(set(ids)), "a tag appeared twice"
        missing = whole_walk - set(ids)
        assert not missing, f"skipped tags that existed for the whole walk: {missing}"
        keys = [primary_key(n, order["field"]) for n in seen]
        expected = sorted(keys, reverse=order["direction"] == "DESC")
        assert keys == expected, "the walk left the list's order"


WALK_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@WALK_SETTINGS
@given(data=st.data())
async def test_forward_walk_never_repeats_or_skips(schema: TagsSchema, data: st.DataObject) -> None:
    await run_walk(schema, data, backward=False)


@WALK_SETTINGS
@given(data=st.data())
async def test_backward_walk_never_repeats_or_skips(
    schema: TagsSchema, data: st.DataObject
) -> None:
    await run_walk(schema, data, backward=True)
