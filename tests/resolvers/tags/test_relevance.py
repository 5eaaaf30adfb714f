"""RELEVANCE order of `tags`: exact, prefix, word prefix, substring; ties by usage, name."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolvers.tags.relevance import EXACT, NO_MATCH, PREFIX, SUBSTRING, WORD_PREFIX, match_rank
from schema import TagsSchema
from tests.harness import Executor, open_test_store
from tests.helpers import WS, create_tag, tag_resources

LIST = """
query List($ws: ID!, $search: String, $dir: OrderDirection = ASC,
           $first: Int, $after: String, $last: Int, $before: String) {
  tags(workspaceId: $ws, filter: { search: $search },
       orderBy: { field: RELEVANCE, direction: $dir },
       first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id name usageCount } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

CREATE_TAGS = """
mutation CreateMany($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id name } userErrors { code field message } }
}
"""

DELETE_TAGS = """
mutation DeleteMany($input: DeleteTagsInput!) {
  deleteTags(input: $input) { deletedIds userErrors { code field message } }
}
"""


async def ranked(gql: Executor, search: str, **args: Any) -> dict[str, Any]:
    result = await gql(LIST, {"ws": WS, "search": search, **args})
    return result.ok()["tags"]


def names(conn: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in conn["edges"]]


@pytest.mark.parametrize(
    ("key", "search", "rank"),
    [
        ("react", "react", EXACT),
        ("reactive", "react", PREFIX),
        ("pre-react", "react", WORD_PREFIX),
        ("lang: react", "react", WORD_PREFIX),
        ("unreact", "react", SUBSTRING),
        ("unreact react", "react", WORD_PREFIX),
        ("vue", "react", NO_MATCH),
        ("t-sql", "-sql", SUBSTRING),
    ],
)
def test_match_rank(key: str, search: str, rank: int) -> None:
    assert match_rank(key, search) == rank


async def test_tiers_then_usage_then_name(gql: Executor) -> None:
    tags = {
        n: await create_tag(gql, n)
        for n in ["Unreact", "React Native", "react-dom", "Reactor", "React", "Preact", "Vue"]
    }
    # Usage breaks ties inside a tier: Reactor above React Native (both prefixes).
    await tag_resources(gql, [tags["Reactor"]["id"]], [("task", "1"), ("task", "2")])
    await tag_resources(gql, [tags["Unreact"]["id"]], [("task", "3")])
    conn = await ranked(gql, "REACT")
    assert names(conn) == ["React", "Reactor", "React Native", "react-dom", "Unreact", "Preact"]
    assert conn["totalCount"] == 6
    # Words split at punctuation too, and accents are ignored.
    await create_tag(gql, "Lang/Réactif")
    assert names(await ranked(gql, "reactif")) == ["Lang/Réactif"]
    desc = await ranked(gql, "react", dir="DESC")
    assert names(desc) == [
        "Preact",
        "Unreact",
        "Lang/Réactif",
        "react-dom",
        "React Native",
        "Reactor",
        "React",
    ]


async def test_needs_a_search(gql: Executor) -> None:
    await create_tag(gql, "a")
    for search in (None, "", "   "):
        result = await gql(LIST, {"ws": WS, "search": search})
        assert result.error_codes == ["BAD_USER_INPUT"]
    # A search longer than any name matches nothing, in this order as in any other.
    assert (await ranked(gql, "x" * 101))["edges"] == []


async def test_pages_and_cursors(gql: Executor) -> None:
    for n in ["ab", "abc", "x ab", "xab", "ab2", "zab z"]:
        await create_tag(gql, n)
    full = names(await ranked(gql, "ab"))
    assert full == ["ab", "ab2", "abc", "x ab", "xab", "zab z"]
    p1 = await ranked(gql, "ab", first=2)
    assert names(p1) == full[:2]
    assert (p1["pageInfo"]["hasNextPage"], p1["pageInfo"]["hasPreviousPage"]) == (True, False)
    p2 = await ranked(gql, "ab", first=3, after=p1["pageInfo"]["endCursor"])
    assert names(p2) == full[2:5]
    assert (p2["pageInfo"]["hasNextPage"], p2["pageInfo"]["hasPreviousPage"]) == (True, True)
    back = await ranked(gql, "ab", last=2, before=p2["pageInfo"]["endCursor"])
    assert names(back) == full[2:4]
    # A cursor of another order is refused, as a forged one.
    result = await gql(LIST, {"ws": WS, "search": "ab", "after": "WyJOQU1FIiwiYWIiLCJ4Il0"})
    assert result.error_codes == ["BAD_USER_INPUT"]
    zero = await ranked(gql, "ab", first=0)
    assert zero["edges"] == [] and zero["pageInfo"]["hasNextPage"] is True


async def test_two_store_calls_per_page(gql: Executor) -> None:
    await gql(
        CREATE_TAGS,
        {"input": {"workspaceId": WS, "tags": [{"name": f"tag {i}"} for i in range(60)]}},
    )
    result = await gql(LIST, {"ws": WS, "search": "tag", "first": 50})
    assert len(result.ok()["tags"]["edges"]) == 50
    # Candidates, then the page's documents; totalCount and pageInfo cost nothing more.
    assert result.round_trips == 2


# --- property: walks with inserts and deletes between pages ---------------------------

# Names drawn over a small alphabet so every rank tier and many ties occur.
LABELS = st.text(alphabet="ab -", min_size=1, max_size=4).filter(lambda s: s.strip() != "")
STEP = st.fixed_dictionaries(
    {
        "size": st.integers(min_value=1, max_value=5),
        "insert": st.lists(LABELS, max_size=3),
        "delete": st.lists(st.floats(0, 1, exclude_max=True), max_size=2),
        "delete_cursor_tag": st.booleans(),
    }
)
PLAIN_STEP: dict[str, Any] = {"size": 5, "insert": [], "delete": [], "delete_cursor_tag": False}


async def run_walk(schema: TagsSchema, data: Any, backward: bool) -> None:
    # Drawn before the walk: what the walk meets must not steer Hypothesis.
    initial = data.draw(st.lists(LABELS, max_size=20), label="initial")
    search = data.draw(st.sampled_from(["a", "ab", "b a"]), label="search")
    direction = data.draw(st.sampled_from(["ASC", "DESC"]), label="direction")
    steps = data.draw(st.lists(STEP, max_size=20), label="steps")
    async with open_test_store("tags_relevance_walk") as store:
        gql = Executor(schema, store)
        counter = iter(range(10_000))

        async def insert(labels: list[str]) -> list[dict[str, Any]]:
            items = [{"name": f"{label.strip()} {next(counter)}"} for label in labels]
            result = await gql(CREATE_TAGS, {"input": {"workspaceId": WS, "tags": items}})
            payload = result.ok()["createTags"]
            assert payload["userErrors"] == []
            return payload["tags"]

        alive: dict[str, dict[str, Any]] = {}
        for tag in await insert(initial) if initial else []:
            alive[tag["id"]] = tag
        first = await ranked(gql, search, dir=direction, first=100)
        whole_walk = {e["node"]["id"] for e in first["edges"]}
        expected_order = [e["node"]["id"] for e in first["edges"]]
        seen: list[dict[str, Any]] = []
        cursor = None
        for number in range(200):
            step = steps[number] if number < len(steps) else PLAIN_STEP
            size = step["size"]
            if backward:
                conn = await ranked(gql, search, dir=direction, last=size, before=cursor)
            else:
                conn = await ranked(gql, search, dir=direction, first=size, after=cursor)
            nodes = [e["node"] for e in conn["edges"]]
            assert len(nodes) <= size
            assert all(n["id"] in alive for n in nodes)
            seen = nodes + seen if backward else seen + nodes
            info = conn["pageInfo"]
            if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
                break
            assert nodes, "a page with more beyond it cannot be empty"
            cursor = info["startCursor"] if backward else info["endCursor"]
            if step["insert"]:
                for tag in await insert(step["insert"]):
                    alive[tag["id"]] = tag
            living = sorted(alive)
            victims = [living[int(f * len(living))] for f in step["delete"] if living]
            if step["delete_cursor_tag"]:
                edge = conn["edges"][0] if backward else conn["edges"][-1]
                victims.append(edge["node"]["id"])
            victims = [v for v in dict.fromkeys(victims) if v in alive]
            if victims:
                result = await gql(DELETE_TAGS, {"input": {"workspaceId": WS, "ids": victims}})
                assert result.ok()["deleteTags"]["userErrors"] == []
                for victim in victims:
                    del alive[victim]
                    whole_walk.discard(victim)
        else:
            raise AssertionError("the walk did not end")
        ids = [n["id"] for n in seen]
        assert len(ids) == len(set(ids)), "a tag appeared twice"
        assert not whole_walk - set(ids), "skipped tags that existed for the whole walk"
        # Tags there from start to end keep the order the first full read gave them.
        kept = [i for i in ids if i in whole_walk]
        assert kept == [i for i in expected_order if i in whole_walk]


WALK_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@WALK_SETTINGS
@given(data=st.data())
async def test_forward_walk_never_repeats_or_skips(schema: TagsSchema, data: Any) -> None:
    await run_walk(schema, data, backward=False)


@WALK_SETTINGS
@given(data=st.data())
async def test_backward_walk_never_repeats_or_skips(schema: TagsSchema, data: Any) -> None:
    await run_walk(schema, data, backward=True)
