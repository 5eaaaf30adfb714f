"""Bulk mutations make the same number of store calls whatever the number of items.

Each case runs one mutation at three sizes on a fresh workspace and compares
`extensions.cost.dbRoundTrips`; the counters and associations are checked
against the stored documents, so a batched write that loses or double-counts
anything fails here too. Writes go about 1000 associations a call (these sizes
stay below that); a mutation's reads of its resources' associations go 50
resources a call (at most 5000 associations, inside a slow store's timeout),
so 500 resources cost exactly one more call per read step and 50 resources,
never one per association. `make bench` runs the largest request the contract
allows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from storage import Store
from storage.taggings import RESOURCES_PER_READ
from tests.harness import Executor, GraphQLResult

SIZES = (5, 50, 500)

CREATE_TAGS = """
mutation($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id } userErrors { code field message } }
}
"""
ADD = """
mutation($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount createdTags { id } userErrors { code message } }
}
"""
REMOVE = """
mutation($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) { removedCount userErrors { code message } }
}
"""
SET = """
mutation($input: SetResourceTagsInput!) {
  setResourceTags(input: $input) { addedCount removedCount userErrors { code message } }
}
"""
DELETE_TAGS = """
mutation($input: DeleteTagsInput!) {
  deleteTags(input: $input) { deletedCount userErrors { code message } }
}
"""
MERGE = """
mutation($input: MergeTagsInput!) {
  mergeTags(input: $input) { movedTaggingsCount userErrors { code message } }
}
"""


def assert_bounded(trips: dict[int, int], read_steps: int) -> None:
    """Same round trips at 5 and 50 resources; at 500, one more per read step and 50."""
    assert trips[5] == trips[50], trips
    extra = read_steps * (500 // RESOURCES_PER_READ - 1)
    assert trips[500] == trips[50] + extra, (trips, extra)


def _ok(result: GraphQLResult, field: str) -> dict[str, Any]:
    payload: dict[str, Any] = result.ok()[field]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


async def _tags(gql: Executor, ws: str, n: int, prefix: str = "t") -> list[str]:
    ids: list[str] = []
    for start in range(0, n, 100):
        items = [{"name": f"{prefix}{i}"} for i in range(start, min(n, start + 100))]
        payload = _ok(
            await gql(CREATE_TAGS, {"input": {"workspaceId": ws, "tags": items}}), "createTags"
        )
        ids += [t["id"] for t in payload["tags"]]
    return ids


def _resources(n: int) -> list[dict[str, str]]:
    # Two types, so that per-type counters are exercised too.
    return [{"type": "task" if i % 2 else "file", "id": f"r{i}"} for i in range(n)]


async def _add(gql: Executor, ws: str, n: int, tag_ids: list[str]) -> GraphQLResult:
    return await gql(
        ADD, {"input": {"workspaceId": ws, "resources": _resources(n), "tagIds": tag_ids}}
    )


async def assert_counters_match(store: Store, ws: str) -> None:
    """Every tag's counters equal what its stored associations say."""
    tags = await store.database.tags.find({"ws": ws})
    rows = await store.database.taggings.find({"ws": ws})
    total = Counter(r["tagId"] for r in rows)
    by_type = Counter((r["tagId"], r["rtype"]) for r in rows)
    for tag in tags:
        assert tag["usage"] == total[tag["_id"]], tag
        stored = {k: v for k, v in (tag.get("usageByType") or {}).items() if v}
        counted = {t: n for (tag_id, t), n in by_type.items() if tag_id == tag["_id"]}
        assert stored == counted, (tag["_id"], stored, counted)


async def test_add_tags_to_resources_round_trips_do_not_grow(gql: Executor, store: Store) -> None:
    trips = {}
    for n in SIZES:
        ws = f"add-{n}"
        tag_ids = await _tags(gql, ws, 2)
        result = await _add(gql, ws, n, tag_ids)
        assert _ok(result, "addTagsToResources")["addedCount"] == 2 * n
        trips[n] = result.round_trips
        await assert_counters_match(store, ws)
    assert_bounded(trips, read_steps=2)  # the resources' tags, then their counts


async def test_add_by_name_creating_missing_round_trips_do_not_grow(
    gql: Executor, store: Store
) -> None:
    trips = {}
    for n in SIZES:
        ws = f"names-{n}"
        await _tags(gql, ws, 1, prefix="old")
        result = await gql(
            ADD,
            {
                "input": {
                    "workspaceId": ws,
                    "resources": _resources(n),
                    "tagNames": ["old0", "brand new"],
                    "createMissing": True,
                }
            },
        )
        payload = _ok(result, "addTagsToResources")
        assert (payload["addedCount"], len(payload["createdTags"])) == (2 * n, 1)
        trips[n] = result.round_trips
        await assert_counters_match(store, ws)
    assert_bounded(trips, read_steps=2)


async def test_remove_tags_from_resources_round_trips_do_not_grow(
    gql: Executor, store: Store
) -> None:
    trips = {}
    for n in SIZES:
        ws = f"remove-{n}"
        tag_ids = await _tags(gql, ws, 3)
        _ok(await _add(gql, ws, n, tag_ids[:2]), "addTagsToResources")
        # The third tag is on no resource: nothing to remove, nothing to count.
        result = await gql(
            REMOVE, {"input": {"workspaceId": ws, "resources": _resources(n), "tagIds": tag_ids}}
        )
        assert _ok(result, "removeTagsFromResources")["removedCount"] == 2 * n
        trips[n] = result.round_trips
        await assert_counters_match(store, ws)
        assert await store.database.taggings.find({"ws": ws}) == []
    assert_bounded(trips, read_steps=1)


async def test_set_resource_tags_round_trips_do_not_grow_with_tags(
    gql: Executor, store: Store
) -> None:
    trips = {}
    for n in (2, 20, 100):
        ws = f"set-{n}"
        tag_ids = await _tags(gql, ws, 2 * n)
        resource = {"type": "task", "id": "one"}
        first = await gql(
            SET, {"input": {"workspaceId": ws, "resource": resource, "tagIds": tag_ids[:n]}}
        )
        assert _ok(first, "setResourceTags")["addedCount"] == n
        # Replace half of them: adds and removes in the same request.
        kept = tag_ids[n // 2 : n + n // 2]
        result = await gql(
            SET, {"input": {"workspaceId": ws, "resource": resource, "tagIds": kept}}
        )
        payload = _ok(result, "setResourceTags")
        assert (payload["addedCount"], payload["removedCount"]) == (n // 2, n // 2)
        trips[n] = result.round_trips
        await assert_counters_match(store, ws)
    assert len(set(trips.values())) == 1, trips


async def test_create_tags_round_trips_do_not_grow(gql: Executor) -> None:
    trips = {}
    for n in (5, 50, 100):
        items = [{"name": f"c{i}"} for i in range(n)]
        result = await gql(CREATE_TAGS, {"input": {"workspaceId": f"create-{n}", "tags": items}})
        assert len(_ok(result, "createTags")["tags"]) == n
        trips[n] = result.round_trips
    assert len(set(trips.values())) == 1, trips


async def test_delete_tags_round_trips_do_not_grow(gql: Executor, store: Store) -> None:
    trips = {}
    for n in (5, 50, 100):
        ws = f"delete-{n}"
        tag_ids = await _tags(gql, ws, n + 1)
        _ok(await _add(gql, ws, 5, [tag_ids[0], tag_ids[-1]]), "addTagsToResources")
        result = await gql(DELETE_TAGS, {"input": {"workspaceId": ws, "ids": tag_ids[:n]}})
        assert _ok(result, "deleteTags")["deletedCount"] == n
        trips[n] = result.round_trips
        assert len(await store.database.taggings.find({"ws": ws})) == 5
        await assert_counters_match(store, ws)
    assert len(set(trips.values())) == 1, trips


async def test_merge_tags_round_trips_do_not_grow(gql: Executor, store: Store) -> None:
    trips = {}
    for n in SIZES:
        ws = f"merge-{n}"
        target, *sources = await _tags(gql, ws, 3)
        _ok(await _add(gql, ws, n, sources), "addTagsToResources")
        _ok(await _add(gql, ws, 1, [target]), "addTagsToResources")
        result = await gql(MERGE, {"input": {"targetId": target, "sourceIds": sources}})
        # r0 already carried the target: n - 1 resources gain it.
        assert _ok(result, "mergeTags")["movedTaggingsCount"] == n - 1
        trips[n] = result.round_trips
        await assert_counters_match(store, ws)
        assert len(await store.database.taggings.find({"ws": ws})) == n
    assert_bounded(trips, read_steps=0)
