"""Tag.resources is batched: its round trips do not grow with aliases or page sizes,
and its pages are the ones the per-tag index path gives."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.taggings import queries
from tests.harness import Executor
from tests.helpers import create_tag, tag_resources

TAGS = 30
RESOURCES = TAGS  # every tag on six resources


async def _workspace(gql: Executor) -> list[str]:
    """30 tags; resource i carries tags i, i+1, ... i+5 (mod 30), tagged in several requests
    so that `taggedAt` differs between them."""
    ids = [(await create_tag(gql, f"tag {i:02}"))["id"] for i in range(TAGS)]
    for i in range(RESOURCES):
        rtype = "task" if i % 3 else "file"
        carried = [ids[(i + k) % TAGS] for k in range(6)]
        await tag_resources(gql, carried, [(rtype, f"r{i:02}")])
    return ids


def _nested(aliases: list[tuple[str, str]], page: int) -> str:
    fields = "\n".join(
        f"""
        {alias}: tag(id: "{tag_id}") {{
          resources(first: {page}) {{
            totalCount
            nodes {{ type id tags {{ id resources(first: {page}) {{ totalCount }} }} }}
          }}
        }}"""
        for alias, tag_id in aliases
    )
    return f"query {{ {fields} }}"


async def test_nested_resources_round_trips_stay_constant(gql: Executor) -> None:
    ids = await _workspace(gql)
    trips = {}
    for count, page in ((1, 2), (10, 5), (30, 10)):
        aliases = [(f"a{i}", ids[i % TAGS]) for i in range(count)]
        result = await gql(_nested(aliases, page))
        data = result.ok()
        # The answer is really there: every alias pages its tag's resources.
        first = data["a0"]["resources"]
        assert first["totalCount"] == 6
        assert len(first["nodes"]) == min(page, 6)
        for node in first["nodes"]:
            assert len(node["tags"]) == 6
            assert all(t["resources"]["totalCount"] == 6 for t in node["tags"])
        trips[(count, page)] = result.round_trips
    # The tags, the first Tag.resources batch, the resources' taggings, their tags,
    # the nested batch; with thirty aliases the nested tags are all already loaded.
    assert max(trips.values()) <= trips[(1, 2)] <= 5, trips


PAGE = """
query($id: ID!, $type: String, $first: Int, $after: String, $last: Int, $before: String) {
  tag(id: $id) {
    resources(resourceType: $type, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges { cursor taggedAt node { type id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


async def _walk(gql: Executor, tag_id: str, rtype: str | None, forward: bool) -> list[Any]:
    """Every page of a tag's resources, two at a time, in one direction."""
    pages: list[Any] = []
    cursor: str | None = None
    for _ in range(20):
        variables: dict[str, Any] = {"id": tag_id, "type": rtype}
        if forward:
            variables |= {"first": 2, "after": cursor}
        else:
            variables |= {"last": 2, "before": cursor}
        connection = (await gql(PAGE, variables)).ok()["tag"]["resources"]
        pages.append(connection)
        info = connection["pageInfo"]
        if not (info["hasNextPage"] if forward else info["hasPreviousPage"]):
            return pages
        cursor = info["endCursor"] if forward else info["startCursor"]
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("rtype", [None, "task", "file", "nothing"])
async def test_batched_pages_equal_the_index_pages(
    gql: Executor, monkeypatch: pytest.MonkeyPatch, rtype: str | None
) -> None:
    ids = await _workspace(gql)
    # A tag on a resource twice in the same request ties on taggedAt: broken by resource.
    await tag_resources(gql, [ids[0]], [("task", "z1"), ("file", "z0"), ("task", "a9")])
    for forward in (True, False):
        batched = await _walk(gql, ids[0], rtype, forward)
        with monkeypatch.context() as patch:
            patch.setattr(queries, "BATCHED_USAGE", -1)
            indexed = await _walk(gql, ids[0], rtype, forward)
        assert batched == indexed
        seen = [e["node"]["id"] for page in batched for e in page["edges"]]
        assert len(seen) == len(set(seen)) == batched[0]["totalCount"]


async def test_cursor_from_the_middle_matches_both_ways(
    gql: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _workspace(gql)
    # Two of the tag's six resources lie before the cursor, four after it.
    middle = (await _walk(gql, ids[3], None, True))[0]["pageInfo"]["endCursor"]
    for variables in ({"first": 3, "after": middle}, {"last": 3, "before": middle}):
        batched = (await gql(PAGE, {"id": ids[3], **variables})).ok()
        with monkeypatch.context() as patch:
            patch.setattr(queries, "BATCHED_USAGE", -1)
            indexed = (await gql(PAGE, {"id": ids[3], **variables})).ok()
        assert batched == indexed
        info = batched["tag"]["resources"]["pageInfo"]
        expected = (True, True) if "first" in variables else (True, False)
        assert (info["hasNextPage"], info["hasPreviousPage"]) == expected, info
