"""Applying tags to resources and reading them back: add/remove/set, resourceTags,
Tag.resources, taggedResources, usage counts and ordering by usage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.harness import Executor
from tests.helpers import DELETE_TAG, OTHER_WS, WS, create_tag, tag_resources

UNKNOWN_ID = "tag_" + "0" * 24
BASE_TIME = datetime(2026, 2, 1, 10, 0, 0)

ADD = """
mutation Add($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) {
    resources { type id tagCount tags { id name } }
    createdTags { id name depth workspaceId parent { id } }
    addedCount
    userErrors { code field message }
  }
}
"""

ADD_COUNT_ONLY = """
mutation AddCount($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount userErrors { code field } }
}
"""

REMOVE = """
mutation Remove($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) {
    resources { type id tagCount tags { name } }
    removedCount
    userErrors { code field message }
  }
}
"""

SET = """
mutation SetTags($input: SetResourceTagsInput!) {
  setResourceTags(input: $input) {
    resource { type id tagCount tags { name } }
    addedCount
    removedCount
    userErrors { code field message }
  }
}
"""

CREATE_TAGS = """
mutation CreateMany($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id name } userErrors { code field } }
}
"""

RESOURCE_TAGS = """
query ResourceTags($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) { name }
}
"""

USAGE = """
query Usage($id: ID!, $type: String) {
  tag(id: $id) { total: usageCount typed: usageCount(resourceType: $type) }
}
"""

TAG_RESOURCES = """
query TagResources(
  $id: ID!, $type: String, $first: Int, $after: String, $last: Int, $before: String
) {
  tag(id: $id) {
    resources(resourceType: $type, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor taggedAt node { type id tagCount } }
      nodes { type id }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }
}
"""

TAGGED = """
query Tagged(
  $ws: ID!, $tagIds: [ID!]!, $match: TagMatch, $type: String, $desc: Boolean,
  $first: Int, $after: String, $last: Int, $before: String
) {
  taggedResources(
    workspaceId: $ws, tagIds: $tagIds, match: $match, resourceType: $type,
    includeDescendants: $desc, first: $first, after: $after, last: $last, before: $before
  ) {
    edges { cursor taggedAt node { type id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""

TAG_TOTAL = """
query Total($ws: ID!) { tags(workspaceId: $ws) { totalCount } }
"""

SLUGS = """
query Slugs($ids: [ID!]!) { nodes(ids: $ids) { ... on Tag { name slug } } }
"""

MOVE = """
mutation Move($id: ID!, $p: ID) {
  updateTag(input: {id: $id, parentId: $p}) { userErrors { code } }
}
"""

BY_USAGE = """
query ByUsage($ws: ID!, $dir: OrderDirection!, $first: Int, $after: String,
              $last: Int, $before: String) {
  tags(workspaceId: $ws, orderBy: {field: USAGE_COUNT, direction: $dir},
       first: $first, after: $after, last: $last, before: $before) {
    nodes { name usageCount }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""


# Helpers ------------------------------------------------------------------------


class Clock:
    """Stands in for the clock of the tagging code: every call returns `value`."""

    def __init__(self) -> None:
        self.value = BASE_TIME

    def at(self, seconds: int) -> None:
        self.value = BASE_TIME + timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("resolvers.taggings.mutations.now", fake)
    return fake


def stamp(seconds: int) -> str:
    return (BASE_TIME + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def refs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"type": t, "id": i} for t, i in pairs]


async def add(
    gql: Executor, resources: list[tuple[str, str]], query: str = ADD, ws: str = WS, **fields: Any
) -> dict[str, Any]:
    result = await gql(
        query, {"input": {"workspaceId": ws, "resources": refs(*resources), **fields}}
    )
    return result.ok()["addTagsToResources"]


async def remove(
    gql: Executor, resources: list[tuple[str, str]], tag_ids: list[str]
) -> dict[str, Any]:
    variables = {"input": {"workspaceId": WS, "resources": refs(*resources), "tagIds": tag_ids}}
    return (await gql(REMOVE, variables)).ok()["removeTagsFromResources"]


async def set_tags(gql: Executor, resource: tuple[str, str], tag_ids: list[str]) -> dict[str, Any]:
    variables = {"input": {"workspaceId": WS, "resource": refs(resource)[0], "tagIds": tag_ids}}
    return (await gql(SET, variables)).ok()["setResourceTags"]


async def resource_tags(gql: Executor, rtype: str, rid: str, ws: str = WS) -> list[str]:
    data = (await gql(RESOURCE_TAGS, {"ws": ws, "type": rtype, "id": rid})).ok()
    return [t["name"] for t in data["resourceTags"]]


async def usage(gql: Executor, tag_id: str, rtype: str = "task") -> tuple[int, int]:
    data = (await gql(USAGE, {"id": tag_id, "type": rtype})).ok()["tag"]
    return data["total"], data["typed"]


async def tags_named(gql: Executor, *names: str) -> list[dict[str, Any]]:
    return [await create_tag(gql, n) for n in names]


async def create_many(gql: Executor, names: list[str]) -> list[str]:
    variables = {"input": {"workspaceId": WS, "tags": [{"name": n} for n in names]}}
    payload = (await gql(CREATE_TAGS, variables)).ok()["createTags"]
    assert payload["userErrors"] == []
    return [t["id"] for t in payload["tags"]]


async def tag_count_in_workspace(gql: Executor) -> int:
    data = (await gql(TAG_TOTAL, {"ws": WS})).ok()
    return data["tags"]["totalCount"]


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def tagged(gql: Executor, tag_ids: list[str], **args: Any) -> Any:
    variables = {"ws": WS, "tagIds": tag_ids, **{k: v for k, v in args.items() if v is not None}}
    return await gql(TAGGED, variables)


def edge_keys(connection: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["node"]["type"], e["node"]["id"], e["taggedAt"]) for e in connection["edges"]]


# addTagsToResources ------------------------------------------------------------------


async def test_add_by_ids_returns_resources_in_input_order(gql: Executor) -> None:
    beta, alpha = await tags_named(gql, "beta", "Alpha")
    payload = await add(
        gql,
        [("task", "z"), ("file", "a"), ("task", "b")],
        tagIds=[beta["id"], alpha["id"]],
    )
    assert payload["userErrors"] == []
    assert payload["addedCount"] == 6
    assert payload["createdTags"] == []
    assert [(r["type"], r["id"]) for r in payload["resources"]] == [
        ("task", "z"),
        ("file", "a"),
        ("task", "b"),
    ]
    for resource in payload["resources"]:
        assert resource["tagCount"] == 2
        assert [t["name"] for t in resource["tags"]] == ["Alpha", "beta"]
    assert await usage(gql, alpha["id"], "task") == (3, 2)
    assert await usage(gql, beta["id"], "file") == (3, 1)
    assert await usage(gql, beta["id"], "note") == (3, 0)
    assert await resource_tags(gql, "file", "a") == ["Alpha", "beta"]


async def test_add_by_names_matches_case_insensitively(gql: Executor) -> None:
    (urgent,) = await tags_named(gql, "Urgent")
    payload = await add(gql, [("task", "1")], tagNames=["urgent", "  URGENT  "])
    assert payload["userErrors"] == []
    assert payload["addedCount"] == 1
    assert payload["createdTags"] == []
    assert payload["resources"][0]["tags"] == [{"id": urgent["id"], "name": "Urgent"}]
    assert await usage(gql, urgent["id"]) == (1, 1)
    assert await tag_count_in_workspace(gql) == 1


async def test_add_by_ids_and_names_together(gql: Executor) -> None:
    a, b = await tags_named(gql, "A", "B")
    payload = await add(gql, [("task", "1")], tagIds=[a["id"]], tagNames=["b", "a"])
    assert payload["userErrors"] == []
    assert payload["addedCount"] == 2
    assert [t["id"] for t in payload["resources"][0]["tags"]] == [a["id"], b["id"]]


async def test_create_missing_creates_root_tags(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    existing = await create_tag(gql, "Known", parentId=parent["id"])
    payload = await add(
        gql,
        [("task", "1"), ("task", "2")],
        tagNames=["known", "Brand New", "brand new", "Other"],
        createMissing=True,
    )
    assert payload["userErrors"] == []
    created = payload["createdTags"]
    assert sorted(t["name"] for t in created) == ["Brand New", "Other"]
    for tag in created:
        assert tag["depth"] == 0
        assert tag["parent"] is None
        assert tag["workspaceId"] == WS
    assert payload["addedCount"] == 6
    for resource in payload["resources"]:
        assert [t["name"] for t in resource["tags"]] == ["Brand New", "Known", "Other"]
    assert await usage(gql, existing["id"]) == (2, 2)
    for tag in created:
        assert await usage(gql, tag["id"]) == (2, 2)
    assert await tag_count_in_workspace(gql) == 4


async def test_create_missing_gives_generated_slugs_a_free_suffix(gql: Executor) -> None:
    await create_tag(gql, "Bug")
    await create_tag(gql, "Bug?", slug="bug-2")
    payload = await add(gql, [("task", "1")], tagNames=["bug!", "BUG #"], createMissing=True)
    assert payload["userErrors"] == []
    created = payload["createdTags"]
    assert sorted(t["name"] for t in created) == ["BUG #", "bug!"]
    slugs = (await gql(SLUGS, {"ids": [t["id"] for t in created]})).ok()["nodes"]
    assert sorted(n["slug"] for n in slugs) == ["bug-3", "bug-4"]
    assert payload["addedCount"] == 2


async def test_invalid_tag_name_is_validation_with_its_index(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    payload = await add(gql, [("task", "1")], tagNames=["A", "   "], createMissing=True)
    assert errors(payload) == [("VALIDATION", ["tagNames", "1"])]
    assert payload["createdTags"] == []
    assert await resource_tags(gql, "task", "1") == []
    assert await usage(gql, a["id"]) == (0, 0)
    payload = await add(gql, [("task", "1")], tagNames=["x" * 101], createMissing=True)
    assert errors(payload) == [("VALIDATION", ["tagNames", "0"])]
    assert await tag_count_in_workspace(gql) == 1


async def test_unknown_name_without_create_missing_is_not_found_and_changes_nothing(
    gql: Executor,
) -> None:
    (known,) = await tags_named(gql, "Known")
    payload = await add(gql, [("task", "1")], tagNames=["Known", "Nope"], tagIds=[known["id"]])
    assert payload["addedCount"] == 0
    assert payload["resources"] == []
    assert errors(payload) == [("NOT_FOUND", ["tagNames", "1"])]
    assert await resource_tags(gql, "task", "1") == []
    assert await usage(gql, known["id"]) == (0, 0)
    assert await tag_count_in_workspace(gql) == 1

    payload = await add(gql, [("task", "1")], tagNames=["Nope"], createMissing=False)
    assert errors(payload) == [("NOT_FOUND", ["tagNames", "0"])]
    assert await tag_count_in_workspace(gql) == 1


async def test_adding_twice_is_idempotent(gql: Executor, clock: Clock) -> None:
    a, b = await tags_named(gql, "A", "B")
    clock.at(1)
    first = await add(gql, [("task", "1"), ("task", "2")], tagIds=[a["id"]])
    assert first["addedCount"] == 2
    clock.at(5)
    again = await add(gql, [("task", "1"), ("task", "2")], tagIds=[a["id"]])
    assert again["userErrors"] == []
    assert again["addedCount"] == 0
    assert [r["tagCount"] for r in again["resources"]] == [1, 1]
    assert await usage(gql, a["id"]) == (2, 2)

    # Partly new: only the new pairs count.
    both = await add(gql, [("task", "1"), ("task", "3")], tagIds=[a["id"], b["id"]])
    assert both["addedCount"] == 3
    assert await usage(gql, a["id"]) == (3, 3)
    assert await usage(gql, b["id"]) == (2, 2)

    # Re-adding did not refresh when A was applied to task:1.
    data = (await gql(TAG_RESOURCES, {"id": a["id"]})).ok()["tag"]["resources"]
    assert edge_keys(data) == [
        ("task", "3", stamp(5)),
        ("task", "1", stamp(1)),
        ("task", "2", stamp(1)),
    ]


async def test_same_resource_twice_in_one_request_counts_once(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    payload = await add(gql, [("task", "1"), ("task", "1")], tagIds=[a["id"], a["id"]])
    assert payload["userErrors"] == []
    assert payload["addedCount"] == 1
    assert await usage(gql, a["id"]) == (1, 1)


@pytest.mark.parametrize("count", [0, 501])
async def test_resource_count_out_of_range_is_validation(gql: Executor, count: int) -> None:
    (a,) = await tags_named(gql, "A")
    resources = [("task", str(i)) for i in range(count)]
    payload = await add(gql, resources, query=ADD_COUNT_ONLY, tagIds=[a["id"]])
    assert payload["addedCount"] == 0
    assert errors(payload) == [("VALIDATION", ["resources"])]
    assert await usage(gql, a["id"]) == (0, 0)

    variables = {"input": {"workspaceId": WS, "resources": refs(*resources), "tagIds": [a["id"]]}}
    removed = (await gql(REMOVE, variables)).ok()["removeTagsFromResources"]
    assert errors(removed) == [("VALIDATION", ["resources"])]


async def test_500_resources_is_allowed(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    resources = [("task", str(i)) for i in range(500)]
    payload = await add(gql, resources, query=ADD_COUNT_ONLY, tagIds=[a["id"]])
    assert payload == {"addedCount": 500, "userErrors": []}
    assert await usage(gql, a["id"]) == (500, 500)


@pytest.mark.parametrize(
    ("ref", "field"),
    [
        ({"type": "9task", "id": "1"}, "type"),
        ({"type": "", "id": "1"}, "type"),
        ({"type": "ta sk", "id": "1"}, "type"),
        ({"type": "t" * 65, "id": "1"}, "type"),
        ({"type": "task", "id": ""}, "id"),
        ({"type": "task", "id": "x" * 257}, "id"),
        ({"type": "task", "id": "a\x00b"}, "id"),
    ],
)
async def test_bad_resource_ref_is_validation_with_its_path(
    gql: Executor, ref: dict[str, str], field: str
) -> None:
    (a,) = await tags_named(gql, "A")
    resources = [{"type": "task", "id": "ok"}, ref]
    variables = {"input": {"workspaceId": WS, "resources": resources, "tagIds": [a["id"]]}}
    payload = (await gql(ADD, variables)).ok()["addTagsToResources"]
    assert errors(payload) == [("VALIDATION", ["resources", "1", field])]
    assert payload["addedCount"] == 0
    assert await resource_tags(gql, "task", "ok") == []
    assert await usage(gql, a["id"]) == (0, 0)


async def test_longest_valid_resource_ref_is_accepted(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    rtype = "T" + "a1_.:-" * 10 + "bcd"
    assert len(rtype) == 64
    payload = await add(gql, [(rtype, "é" * 256)], tagIds=[a["id"]])
    assert payload["userErrors"] == []
    assert payload["resources"][0]["type"] == rtype
    assert await resource_tags(gql, rtype, "é" * 256) == ["A"]


async def test_101st_tag_on_a_resource_is_limit_exceeded_and_changes_nothing(gql: Executor) -> None:
    ids = await create_many(gql, [f"t{i:03d}" for i in range(100)])
    extra = await create_many(gql, ["extra"])
    payload = await add(gql, [("task", "full")], query=ADD_COUNT_ONLY, tagIds=ids)
    assert payload == {"addedCount": 100, "userErrors": []}

    payload = await add(gql, [("task", "free"), ("task", "full")], tagIds=extra)
    assert [e["code"] for e in payload["userErrors"]] == ["LIMIT_EXCEEDED"]
    assert payload["userErrors"][0]["field"] == ["resources", "1"]
    assert payload["addedCount"] == 0
    assert await usage(gql, extra[0]) == (0, 0)
    assert await resource_tags(gql, "task", "free") == []
    assert len(await resource_tags(gql, "task", "full")) == 100
    # The same resource in another workspace is another resource.
    elsewhere = await create_tag(gql, "extra", workspace=OTHER_WS)
    await tag_resources(gql, [elsewhere["id"]], [("task", "full")], workspace=OTHER_WS)
    assert await resource_tags(gql, "task", "full", ws=OTHER_WS) == ["extra"]

    # createMissing on a full resource: the new tag is not created either.
    payload = await add(gql, [("task", "full")], tagNames=["Brand new"], createMissing=True)
    assert [e["code"] for e in payload["userErrors"]] == ["LIMIT_EXCEEDED"]
    assert payload["createdTags"] == []
    assert await tag_count_in_workspace(gql) == 101

    # Re-adding tags it already has is fine on a full resource.
    payload = await add(gql, [("task", "full")], query=ADD_COUNT_ONLY, tagIds=ids[:3])
    assert payload == {"addedCount": 0, "userErrors": []}

    # 101 at once on a fresh resource.
    payload = await add(gql, [("task", "new")], query=ADD_COUNT_ONLY, tagIds=ids + extra)
    assert [e["code"] for e in payload["userErrors"]] == ["LIMIT_EXCEEDED"]
    assert await resource_tags(gql, "task", "new") == []

    # setResourceTags has the same limit.
    payload = await set_tags(gql, ("task", "new"), ids + extra)
    assert [e["code"] for e in payload["userErrors"]] == ["LIMIT_EXCEEDED"]
    assert payload["resource"] is None
    assert await resource_tags(gql, "task", "new") == []
    assert await usage(gql, ids[0]) == (1, 1)


@pytest.mark.parametrize("kind", ["unknown", "malformed", "other-workspace"])
async def test_unknown_tag_id_is_not_found_and_changes_nothing(gql: Executor, kind: str) -> None:
    (a,) = await tags_named(gql, "A")
    if kind == "unknown":
        bad = UNKNOWN_ID
    elif kind == "malformed":
        bad = "tag_nope"
    else:
        bad = (await create_tag(gql, "Elsewhere", workspace=OTHER_WS))["id"]
    payload = await add(gql, [("task", "1")], tagIds=[a["id"], bad])
    assert errors(payload) == [("NOT_FOUND", ["tagIds", "1"])]
    assert payload["addedCount"] == 0
    assert payload["resources"] == []
    assert await resource_tags(gql, "task", "1") == []
    assert await usage(gql, a["id"]) == (0, 0)


async def test_unknown_ids_and_names_are_all_reported(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    payload = await add(
        gql, [("task", "1")], tagIds=[UNKNOWN_ID, a["id"], "x"], tagNames=["a", "missing"]
    )
    assert sorted(errors(payload)) == [
        ("NOT_FOUND", ["tagIds", "0"]),
        ("NOT_FOUND", ["tagIds", "2"]),
        ("NOT_FOUND", ["tagNames", "1"]),
    ]
    assert await usage(gql, a["id"]) == (0, 0)


# removeTagsFromResources / setResourceTags -------------------------------------------


async def test_remove_tags(gql: Executor) -> None:
    a, b = await tags_named(gql, "A", "B")
    await tag_resources(gql, [a["id"], b["id"]], [("task", "1"), ("file", "1")])
    await tag_resources(gql, [b["id"]], [("task", "2")])

    payload = await remove(gql, [("task", "1"), ("task", "2"), ("task", "never")], [a["id"]])
    assert payload["userErrors"] == []
    assert payload["removedCount"] == 1
    assert [(r["type"], r["id"], r["tagCount"]) for r in payload["resources"]] == [
        ("task", "1", 1),
        ("task", "2", 1),
        ("task", "never", 0),
    ]
    assert payload["resources"][0]["tags"] == [{"name": "B"}]
    assert await usage(gql, a["id"]) == (1, 0)
    assert await usage(gql, a["id"], "file") == (1, 1)

    # Removing again is not an error and removes nothing.
    payload = await remove(gql, [("task", "1")], [a["id"]])
    assert payload["userErrors"] == []
    assert payload["removedCount"] == 0
    assert await usage(gql, a["id"]) == (1, 0)

    payload = await remove(gql, [("task", "1"), ("task", "2"), ("file", "1")], [a["id"], b["id"]])
    assert payload["removedCount"] == 4
    assert await usage(gql, a["id"]) == (0, 0)
    assert await usage(gql, b["id"]) == (0, 0)
    assert await resource_tags(gql, "file", "1") == []


async def test_remove_unknown_tag_is_not_found_and_changes_nothing(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    await tag_resources(gql, [a["id"]], [("task", "1")])
    payload = await remove(gql, [("task", "1")], [a["id"], UNKNOWN_ID])
    assert errors(payload) == [("NOT_FOUND", ["tagIds", "1"])]
    assert payload["removedCount"] == 0
    assert await resource_tags(gql, "task", "1") == ["A"]
    assert await usage(gql, a["id"]) == (1, 1)


async def test_set_resource_tags_replaces_and_clears(gql: Executor) -> None:
    a, b, c = await tags_named(gql, "A", "B", "C")
    await tag_resources(gql, [a["id"], b["id"]], [("task", "1")])

    payload = await set_tags(gql, ("task", "1"), [c["id"], b["id"]])
    assert payload["userErrors"] == []
    assert (payload["addedCount"], payload["removedCount"]) == (1, 1)
    assert payload["resource"] == {
        "type": "task",
        "id": "1",
        "tagCount": 2,
        "tags": [{"name": "B"}, {"name": "C"}],
    }
    assert [await usage(gql, t["id"]) for t in (a, b, c)] == [(0, 0), (1, 1), (1, 1)]

    payload = await set_tags(gql, ("task", "1"), [b["id"], c["id"]])
    assert (payload["addedCount"], payload["removedCount"]) == (0, 0)

    payload = await set_tags(gql, ("task", "1"), [])
    assert payload["userErrors"] == []
    assert (payload["addedCount"], payload["removedCount"]) == (0, 2)
    assert payload["resource"]["tags"] == []
    assert payload["resource"]["tagCount"] == 0
    assert await resource_tags(gql, "task", "1") == []
    assert [await usage(gql, t["id"]) for t in (a, b, c)] == [(0, 0), (0, 0), (0, 0)]

    payload = await set_tags(gql, ("task", "1"), [a["id"], a["id"]])
    assert (payload["addedCount"], payload["removedCount"]) == (1, 0)
    assert await usage(gql, a["id"]) == (1, 1)


async def test_set_resource_tags_errors_change_nothing(gql: Executor) -> None:
    a, b = await tags_named(gql, "A", "B")
    await tag_resources(gql, [a["id"]], [("task", "1")])

    payload = await set_tags(gql, ("task", "1"), [b["id"], UNKNOWN_ID])
    assert errors(payload) == [("NOT_FOUND", ["tagIds", "1"])]
    assert payload["resource"] is None
    assert await resource_tags(gql, "task", "1") == ["A"]

    payload = await set_tags(gql, ("bad type", "1"), [b["id"]])
    assert errors(payload) == [("VALIDATION", ["resource", "type"])]
    assert await usage(gql, b["id"]) == (0, 0)


# Reading -----------------------------------------------------------------------------


async def test_resource_tags_ordered_by_name_and_scoped_to_workspace(gql: Executor) -> None:
    tags = await tags_named(gql, "gamma", "Beta", "alpha", "Delta")
    await tag_resources(gql, [t["id"] for t in tags], [("task", "1")])
    other = await create_tag(gql, "Aardvark", workspace=OTHER_WS)
    await tag_resources(gql, [other["id"]], [("task", "1")], workspace=OTHER_WS)

    assert await resource_tags(gql, "task", "1") == ["alpha", "Beta", "Delta", "gamma"]
    assert await resource_tags(gql, "task", "1", ws=OTHER_WS) == ["Aardvark"]
    assert await resource_tags(gql, "task", "2") == []
    assert await resource_tags(gql, "file", "1") == []


async def test_usage_count_follows_every_operation(gql: Executor) -> None:
    a, b = await tags_named(gql, "A", "B")
    assert await usage(gql, a["id"]) == (0, 0)
    await add(gql, [("task", "1"), ("doc.page", "1"), ("doc.page", "2")], tagIds=[a["id"], b["id"]])
    assert await usage(gql, a["id"], "doc.page") == (3, 2)
    assert await usage(gql, a["id"], "doc") == (3, 0)
    assert await usage(gql, a["id"], "not valid!") == (3, 0)

    await remove(gql, [("doc.page", "1")], [a["id"]])
    assert await usage(gql, a["id"], "doc.page") == (2, 1)

    await set_tags(gql, ("doc.page", "2"), [b["id"]])
    assert await usage(gql, a["id"], "doc.page") == (1, 0)
    await set_tags(gql, ("doc.page", "3"), [a["id"]])
    assert await usage(gql, a["id"], "doc.page") == (2, 1)

    # Deleting another tag leaves this one's counts alone.
    deleted = (await gql(DELETE_TAG, {"input": {"id": b["id"]}})).ok()["deleteTag"]
    assert deleted["removedTaggingsCount"] == 3
    assert await usage(gql, a["id"], "task") == (2, 1)


async def test_tag_resources_most_recent_first_with_filter_and_pagination(
    gql: Executor, clock: Clock
) -> None:
    (a,) = await tags_named(gql, "A")
    clock.at(1)
    await tag_resources(gql, [a["id"]], [("task", "1")])
    clock.at(2)
    await tag_resources(gql, [a["id"]], [("task", "0"), ("file", "9")])
    clock.at(3)
    await tag_resources(gql, [a["id"]], [("task", "5")])

    data = (await gql(TAG_RESOURCES, {"id": a["id"]})).ok()["tag"]["resources"]
    assert edge_keys(data) == [
        ("task", "5", stamp(3)),
        ("file", "9", stamp(2)),
        ("task", "0", stamp(2)),
        ("task", "1", stamp(1)),
    ]
    assert data["nodes"] == [{"type": t, "id": i} for t, i, _ in edge_keys(data)]
    assert all(e["node"]["tagCount"] == 1 for e in data["edges"])
    assert data["totalCount"] == 4
    assert data["pageInfo"]["hasNextPage"] is False

    typed = (await gql(TAG_RESOURCES, {"id": a["id"], "type": "task"})).ok()["tag"]["resources"]
    assert [e["node"]["id"] for e in typed["edges"]] == ["5", "0", "1"]
    assert typed["totalCount"] == 3
    none = (await gql(TAG_RESOURCES, {"id": a["id"], "type": "note"})).ok()["tag"]["resources"]
    assert (none["edges"], none["totalCount"]) == ([], 0)

    seen: list[tuple[str, str, str]] = []
    after = None
    pages = 0
    while True:
        # Pages of 2: the second page starts inside the tie at second 2.
        page = (await gql(TAG_RESOURCES, {"id": a["id"], "first": 2, "after": after})).ok()
        conn = page["tag"]["resources"]
        assert conn["totalCount"] == 4
        seen += edge_keys(conn)
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 2
    assert seen == edge_keys(data)

    tail = (await gql(TAG_RESOURCES, {"id": a["id"], "last": 2})).ok()["tag"]["resources"]
    assert edge_keys(tail) == edge_keys(data)[2:]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    before = (
        await gql(
            TAG_RESOURCES, {"id": a["id"], "last": 5, "before": tail["pageInfo"]["startCursor"]}
        )
    ).ok()["tag"]["resources"]
    assert edge_keys(before) == edge_keys(data)[:2]


async def test_tagged_resources_any_all_and_tagged_at(gql: Executor, clock: Clock) -> None:
    a, b = await tags_named(gql, "A", "B")
    c = await create_tag(gql, "C", parentId=a["id"])
    clock.at(1)
    await tag_resources(gql, [a["id"]], [("task", "1")])
    clock.at(2)
    await tag_resources(gql, [b["id"]], [("task", "1")])
    await tag_resources(gql, [a["id"]], [("task", "2")])
    clock.at(3)
    await tag_resources(gql, [c["id"]], [("task", "3")])
    clock.at(4)
    await tag_resources(gql, [b["id"]], [("file", "1")])
    clock.at(5)
    await tag_resources(gql, [a["id"]], [("task", "1")])  # already there: changes nothing

    conn = (await tagged(gql, [a["id"]])).ok()["taggedResources"]
    assert edge_keys(conn) == [("task", "2", stamp(2)), ("task", "1", stamp(1))]
    assert conn["totalCount"] == 2

    conn = (await tagged(gql, [a["id"], b["id"]], match="ANY")).ok()["taggedResources"]
    assert edge_keys(conn) == [
        ("file", "1", stamp(4)),
        ("task", "1", stamp(2)),
        ("task", "2", stamp(2)),
    ]
    assert conn["totalCount"] == 3

    conn = (await tagged(gql, [a["id"], b["id"]], match="ALL")).ok()["taggedResources"]
    assert edge_keys(conn) == [("task", "1", stamp(2))]
    assert conn["totalCount"] == 1

    conn = (await tagged(gql, [a["id"]], desc=True)).ok()["taggedResources"]
    assert edge_keys(conn) == [
        ("task", "3", stamp(3)),
        ("task", "2", stamp(2)),
        ("task", "1", stamp(1)),
    ]

    conn = (await tagged(gql, [a["id"], b["id"]], match="ALL", desc=True)).ok()["taggedResources"]
    assert edge_keys(conn) == [("task", "1", stamp(2))]

    conn = (await tagged(gql, [c["id"]], desc=True)).ok()["taggedResources"]
    assert edge_keys(conn) == [("task", "3", stamp(3))]

    conn = (await tagged(gql, [a["id"], b["id"]], type="file")).ok()["taggedResources"]
    assert edge_keys(conn) == [("file", "1", stamp(4))]
    assert conn["totalCount"] == 1
    conn = (await tagged(gql, [a["id"], b["id"]], type="task")).ok()["taggedResources"]
    assert [e["node"]["id"] for e in conn["edges"]] == ["1", "2"]
    assert conn["totalCount"] == 2

    # An unknown tag matches nothing: ignored by ANY, empties ALL.
    conn = (await tagged(gql, [a["id"], UNKNOWN_ID])).ok()["taggedResources"]
    assert conn["totalCount"] == 2
    conn = (await tagged(gql, [a["id"], "garbage"], match="ALL")).ok()["taggedResources"]
    assert (conn["edges"], conn["totalCount"]) == ([], 0)


async def test_tagged_resources_ties_and_pagination(gql: Executor, clock: Clock) -> None:
    (a,) = await tags_named(gql, "A")
    clock.at(1)
    await tag_resources(
        gql, [a["id"]], [("task", "b"), ("note", "m"), ("task", "a"), ("file", "z")]
    )
    clock.at(2)
    await tag_resources(gql, [a["id"]], [("zeta", "0")])
    expected = [
        ("zeta", "0", stamp(2)),
        ("file", "z", stamp(1)),
        ("note", "m", stamp(1)),
        ("task", "a", stamp(1)),
        ("task", "b", stamp(1)),
    ]
    conn = (await tagged(gql, [a["id"]])).ok()["taggedResources"]
    assert edge_keys(conn) == expected

    seen: list[tuple[str, str, str]] = []
    after = None
    while True:
        conn = (await tagged(gql, [a["id"]], first=2, after=after)).ok()["taggedResources"]
        assert conn["totalCount"] == 5
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += edge_keys(conn)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == expected

    conn = (await tagged(gql, [a["id"]], last=2)).ok()["taggedResources"]
    assert edge_keys(conn) == expected[3:]
    conn = (await tagged(gql, [a["id"]], last=2, before=conn["pageInfo"]["startCursor"])).ok()
    assert edge_keys(conn["taggedResources"]) == expected[1:3]


async def test_tagged_resources_descendants_follow_tree_changes(gql: Executor) -> None:
    a, b = await tags_named(gql, "A", "B")
    mid = await create_tag(gql, "Mid", parentId=a["id"])
    leaf = await create_tag(gql, "Leaf", parentId=mid["id"])
    await tag_resources(gql, [leaf["id"]], [("task", "leaf")])
    await tag_resources(gql, [mid["id"]], [("task", "mid")])

    async def through(tag_id: str) -> list[str]:
        conn = (await tagged(gql, [tag_id], desc=True)).ok()["taggedResources"]
        return sorted(e["node"]["id"] for e in conn["edges"])

    assert await through(a["id"]) == ["leaf", "mid"]
    assert await through(b["id"]) == []

    # Leaf moves under B: it now matches through B, no longer through A.
    assert (await gql(MOVE, {"id": leaf["id"], "p": b["id"]})).ok()["updateTag"]["userErrors"] == []
    assert await through(a["id"]) == ["mid"]
    assert await through(b["id"]) == ["leaf"]

    # Back under Mid, then Mid is deleted: Leaf is lifted to A and still matches through it.
    assert (await gql(MOVE, {"id": leaf["id"], "p": mid["id"]})).ok()["updateTag"][
        "userErrors"
    ] == []
    assert (await gql(DELETE_TAG, {"input": {"id": mid["id"]}})).ok()["deleteTag"][
        "userErrors"
    ] == []
    assert await through(a["id"]) == ["leaf"]


@pytest.mark.parametrize("count", [0, 21])
async def test_tagged_resources_tag_id_count_out_of_range(gql: Executor, count: int) -> None:
    result = await tagged(gql, [UNKNOWN_ID[:-2] + f"{i:02x}" for i in range(count)])
    assert result.error_codes == ["BAD_USER_INPUT"]


async def test_tagged_resources_accepts_20_tag_ids(gql: Executor) -> None:
    (a,) = await tags_named(gql, "A")
    await tag_resources(gql, [a["id"]], [("task", "1")])
    tag_ids = [a["id"]] + [UNKNOWN_ID[:-2] + f"{i:02x}" for i in range(19)]
    conn = (await tagged(gql, tag_ids)).ok()["taggedResources"]
    assert [e["node"]["id"] for e in conn["edges"]] == ["1"]


# Ordering by usage -------------------------------------------------------------------


async def _usage_fixture(gql: Executor) -> dict[str, str]:
    """Tags with known usage counts; returns their ids by name."""
    names = {"b": 2, "A": 2, "c": 0, "D": 1, "e": 2, "f": 0, "G": 3}
    tags = {n: (await create_tag(gql, n))["id"] for n in names}
    for n, count in names.items():
        if count:
            await tag_resources(gql, [tags[n]], [("task", str(i)) for i in range(count)])
    return tags


USAGE_ASC = [("c", 0), ("f", 0), ("D", 1), ("A", 2), ("b", 2), ("e", 2), ("G", 3)]
USAGE_DESC = [("G", 3), ("A", 2), ("b", 2), ("e", 2), ("D", 1), ("c", 0), ("f", 0)]


@pytest.mark.parametrize(("direction", "expected"), [("ASC", USAGE_ASC), ("DESC", USAGE_DESC)])
async def test_order_by_usage_breaks_ties_by_name_ascending(
    gql: Executor, direction: str, expected: list[tuple[str, int]]
) -> None:
    await _usage_fixture(gql)
    conn = (await gql(BY_USAGE, {"ws": WS, "dir": direction})).ok()["tags"]
    assert [(n["name"], n["usageCount"]) for n in conn["nodes"]] == expected
    assert conn["totalCount"] == 7

    # Forward walk, two at a time: no repeats, no skips.
    seen: list[tuple[str, int]] = []
    after = None
    while True:
        variables = {"ws": WS, "dir": direction, "first": 2, "after": after}
        conn = (await gql(BY_USAGE, variables)).ok()["tags"]
        seen += [(n["name"], n["usageCount"]) for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == expected

    # Backward walk from the end.
    back: list[tuple[str, int]] = []
    before = None
    while True:
        variables = {"ws": WS, "dir": direction, "last": 3, "before": before}
        conn = (await gql(BY_USAGE, variables)).ok()["tags"]
        back = [(n["name"], n["usageCount"]) for n in conn["nodes"]] + back
        if not conn["pageInfo"]["hasPreviousPage"]:
            break
        before = conn["pageInfo"]["startCursor"]
    assert back == expected


async def test_order_by_usage_follows_changes(gql: Executor) -> None:
    tags = await _usage_fixture(gql)
    conn = (await gql(BY_USAGE, {"ws": WS, "dir": "DESC", "first": 1})).ok()["tags"]
    assert conn["nodes"] == [{"name": "G", "usageCount": 3}]
    cursor = conn["pageInfo"]["endCursor"]

    # f gains 4 taggings; G loses all. The cursor from before the change stays valid.
    await tag_resources(gql, [tags["f"]], [("task", str(i)) for i in range(4)])
    await remove(gql, [("task", str(i)) for i in range(3)], [tags["G"]])

    conn = (await gql(BY_USAGE, {"ws": WS, "dir": "DESC"})).ok()["tags"]
    assert [(n["name"], n["usageCount"]) for n in conn["nodes"]] == [
        ("f", 4),
        ("A", 2),
        ("b", 2),
        ("e", 2),
        ("D", 1),
        ("c", 0),
        ("G", 0),
    ]
    rest = (await gql(BY_USAGE, {"ws": WS, "dir": "DESC", "after": cursor})).ok()["tags"]
    # Everything strictly after (usage 3, "g") in DESC order.
    assert [n["name"] for n in rest["nodes"]] == ["A", "b", "e", "D", "c", "G"]
