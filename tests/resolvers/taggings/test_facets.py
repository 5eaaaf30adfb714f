"""Tag.related and TaggedResourceConnection.tagCounts: counts, order, bounds and scope."""

from __future__ import annotations

from typing import Any

import pytest

import storage.taggings
from resolvers.authorization import READ, Principal
from storage.taggings import COUNTED_RESOURCES
from tests.harness import Executor
from tests.helpers import DELETE_TAG, OTHER_WS, WS, create_tag, tag_resources

RELATED = """
query Related($id: ID!, $first: Int) {
  tag(id: $id) { related(first: $first) { count tag { name } } }
}
"""

FACETS = """
query Facets($ws: ID!, $ids: [ID!]!, $match: TagMatch, $type: String, $first: Int) {
  taggedResources(workspaceId: $ws, tagIds: $ids, match: $match, resourceType: $type,
                  first: 1) {
    totalCount
    tagCounts(first: $first) { count tag { name } }
  }
}
"""

RESOURCE_FACETS = """
query ResourceFacets($id: ID!) {
  tag(id: $id) { resources(first: 1) { tagCounts { count tag { name } } } }
}
"""


def pairs(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(r["tag"]["name"], r["count"]) for r in rows]


async def seed(gql: Executor) -> dict[str, str]:
    """Five tags over five tasks and a file: counts that tell the orders apart."""
    ids = {n: (await create_tag(gql, n))["id"] for n in ["bug", "ui", "API", "db", "lonely"]}
    carried = {
        ("task", "1"): ["bug", "ui", "API"],
        ("task", "2"): ["bug", "ui"],
        ("task", "3"): ["bug", "db"],
        ("task", "4"): ["bug", "API", "db"],
        ("task", "5"): ["ui"],
        ("file", "1"): ["bug", "ui"],
    }
    for resource, names in carried.items():
        await tag_resources(gql, [ids[n] for n in names], [resource])
    await tag_resources(gql, [ids["lonely"]], [("task", "9")])
    return ids


async def test_related_counts_and_order(gql: Executor) -> None:
    ids = await seed(gql)
    result = await gql(RELATED, {"id": ids["bug"]})
    # ui on 3 resources with bug; API and db on 2 each, by name (case-insensitive).
    assert pairs(result.ok()["tag"]["related"]) == [("ui", 3), ("API", 2), ("db", 2)]
    result = await gql(RELATED, {"id": ids["bug"], "first": 1})
    assert pairs(result.ok()["tag"]["related"]) == [("ui", 3)]
    assert (await gql(RELATED, {"id": ids["lonely"]})).ok()["tag"]["related"] == []
    assert (await gql(RELATED, {"id": ids["bug"], "first": 0})).ok()["tag"]["related"] == []
    for first in (-1, 101):
        bad = await gql(RELATED, {"id": ids["bug"], "first": first})
        assert bad.error_codes == ["BAD_USER_INPUT"]


async def test_deleted_tags_are_not_counted(gql: Executor) -> None:
    ids = await seed(gql)
    deleted = await gql(DELETE_TAG, {"input": {"id": ids["ui"]}})
    assert deleted.ok()["deleteTag"]["userErrors"] == []
    result = await gql(RELATED, {"id": ids["bug"]})
    assert pairs(result.ok()["tag"]["related"]) == [("API", 2), ("db", 2)]


async def test_tag_counts_over_every_page(gql: Executor) -> None:
    ids = await seed(gql)
    variables = {"ws": WS, "ids": [ids["API"], ids["db"]], "match": "ANY"}
    conn = (await gql(FACETS, variables)).ok()["taggedResources"]
    # Resources task 1, 3, 4 (not just the one on the page).
    assert conn["totalCount"] == 3
    assert pairs(conn["tagCounts"]) == [("bug", 3), ("API", 2), ("db", 2), ("ui", 1)]
    every = {**variables, "match": "ALL"}
    assert pairs((await gql(FACETS, every)).ok()["taggedResources"]["tagCounts"]) == [
        ("API", 1),
        ("bug", 1),
        ("db", 1),
    ]
    files = {"ws": WS, "ids": [ids["bug"]], "type": "file", "first": 1}
    assert pairs((await gql(FACETS, files)).ok()["taggedResources"]["tagCounts"]) == [("bug", 1)]
    unknown = {"ws": WS, "ids": ["tag_" + "0" * 24]}
    assert (await gql(FACETS, unknown)).ok()["taggedResources"]["tagCounts"] == []
    on_tag = (await gql(RESOURCE_FACETS, {"id": ids["db"]})).ok()["tag"]["resources"]
    assert pairs(on_tag["tagCounts"]) == [("bug", 2), ("db", 2), ("API", 1)]
    bad = await gql(FACETS, {**variables, "first": 101})
    assert bad.error_codes == ["BAD_USER_INPUT"]


async def test_workspaces_do_not_mix(gql: Executor) -> None:
    ids = await seed(gql)
    # The same resource ids in another workspace carry other tags.
    elsewhere = (await create_tag(gql, "elsewhere", workspace=OTHER_WS))["id"]
    await tag_resources(gql, [elsewhere], [("task", "1"), ("task", "2")], workspace=OTHER_WS)
    result = await gql(RELATED, {"id": ids["bug"]})
    assert "elsewhere" not in [n for n, _ in pairs(result.ok()["tag"]["related"])]
    # A reader of the other workspace only sees no tag at all.
    reader = Principal(id="r", scopes=(READ,), workspace_ids=(OTHER_WS,))
    assert (await gql(RELATED, {"id": ids["bug"]}, principal=reader)).ok()["tag"] is None


async def test_counted_over_the_most_recent_resources(
    gql: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert COUNTED_RESOURCES == 10_000  # the contract's bound
    ids = await seed(gql)
    # With a bound of 2, only the two resources tagged last count. bug's: file 1 and
    # task 4 (task 5 carries only ui, task 9 only lonely).
    monkeypatch.setattr(storage.taggings, "COUNTED_RESOURCES", 2)
    result = await gql(RELATED, {"id": ids["bug"]})
    assert pairs(result.ok()["tag"]["related"]) == [("API", 1), ("db", 1), ("ui", 1)]
    variables = {"ws": WS, "ids": [ids["bug"], ids["ui"]]}
    conn = (await gql(FACETS, variables)).ok()["taggedResources"]
    # Carrying bug or ui, tagged last: file 1 (bug, ui), then task 5 (ui).
    assert pairs(conn["tagCounts"]) == [("ui", 2), ("bug", 1)]
