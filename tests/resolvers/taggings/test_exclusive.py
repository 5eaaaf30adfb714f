"""Exclusive parents (1.1): replacement on apply, validation, and concurrent adds."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from storage import Store
from storage.repair import repair
from tests.harness import Executor
from tests.helpers import CREATE_TAG, UPDATE_TAG, WS, create_tag, tag_resources
from tests.resolvers.test_concurrency import interleaved  # noqa: F401  (fixture)

ADD = """
mutation Add($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) {
    resources { type id tags { id } }
    addedCount replacedCount
    userErrors { code field message }
  }
}
"""
SET = """
mutation Set($input: SetResourceTagsInput!) {
  setResourceTags(input: $input) { addedCount removedCount userErrors { code field message } }
}
"""
CREATE_MANY = """
mutation Many($input: CreateTagsInput!) {
  createTags(input: $input) { tags { name exclusive } userErrors { code field } }
}
"""
TAGS_OF = """
query Of($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) { id }
}
"""
USAGE = "query($id: ID!) { tag(id: $id) { usageCount exclusive } }"


async def add(gql: Executor, tag_ids: list[str], rids: list[str], **more: Any) -> dict[str, Any]:
    result = await gql(
        ADD,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": r} for r in rids],
                "tagIds": tag_ids,
                **more,
            }
        },
    )
    payload: dict[str, Any] = result.ok()["addTagsToResources"]
    return payload


async def carried(gql: Executor, rid: str) -> set[str]:
    rows = (await gql(TAGS_OF, {"ws": WS, "type": "task", "id": rid})).ok()["resourceTags"]
    return {r["id"] for r in rows}


async def usage(gql: Executor, tag_id: str) -> int:
    return int((await gql(USAGE, {"id": tag_id})).ok()["tag"]["usageCount"])


async def priority(gql: Executor, n: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    parent = await create_tag(gql, "Priority", exclusive=True)
    kids = [await create_tag(gql, f"P{i}", parentId=parent["id"]) for i in range(n)]
    return parent, kids


# Stored and exposed -----------------------------------------------------------------------


async def test_exclusive_is_false_unless_given_and_stored_when_given(gql: Executor) -> None:
    plain = await create_tag(gql, "Plain")
    made = (
        await gql(
            CREATE_TAG.replace("createdBy", "createdBy exclusive"),
            {"input": {"workspaceId": WS, "name": "Excl", "exclusive": True}},
        )
    ).ok()["createTag"]["tag"]
    assert made["exclusive"] is True
    assert (await gql(USAGE, {"id": plain["id"]})).ok()["tag"]["exclusive"] is False
    many = (
        await gql(
            CREATE_MANY,
            {
                "input": {
                    "workspaceId": WS,
                    "tags": [
                        {"name": "A", "exclusive": True},
                        {"name": "B"},
                        {"name": "C", "exclusive": None},
                    ],
                }
            },
        )
    ).ok()["createTags"]
    assert [t["exclusive"] for t in many["tags"]] == [True, False, False]


async def test_update_sets_and_clears_exclusive_and_refuses_null(gql: Executor) -> None:
    tag = await create_tag(gql, "Flag")
    query = UPDATE_TAG.replace("createdBy", "createdBy exclusive")
    on = (await gql(query, {"input": {"id": tag["id"], "exclusive": True}})).ok()["updateTag"]
    assert on["userErrors"] == [] and on["tag"]["exclusive"] is True
    assert on["tag"]["updatedAt"] > tag["updatedAt"]
    same = (await gql(query, {"input": {"id": tag["id"], "exclusive": True}})).ok()["updateTag"]
    assert same["tag"]["updatedAt"] == on["tag"]["updatedAt"], "no change, no write"
    null = (await gql(query, {"input": {"id": tag["id"], "exclusive": None}})).ok()["updateTag"]
    assert [(e["code"], e["field"]) for e in null["userErrors"]] == [("VALIDATION", ["exclusive"])]
    off = (await gql(query, {"input": {"id": tag["id"], "exclusive": False}})).ok()["updateTag"]
    assert off["tag"]["exclusive"] is False


# Replacement on apply -------------------------------------------------------------------


async def test_adding_a_child_takes_the_others_off_and_counts_them(gql: Executor) -> None:
    _, (p0, p1, p2) = await priority(gql)
    other = await create_tag(gql, "Other")
    first = await add(gql, [p0["id"], other["id"]], ["1", "2"])
    assert (first["addedCount"], first["replacedCount"]) == (4, 0)
    second = await add(gql, [p1["id"]], ["1", "2", "3"])
    assert second["userErrors"] == []
    assert (second["addedCount"], second["replacedCount"]) == (3, 2)
    assert await carried(gql, "1") == {p1["id"], other["id"]}
    assert await carried(gql, "3") == {p1["id"]}
    assert [await usage(gql, t["id"]) for t in (p0, p1, p2, other)] == [0, 3, 0, 2]
    # Adding the child a resource already has changes nothing.
    again = await add(gql, [p1["id"]], ["1"])
    assert (again["addedCount"], again["replacedCount"]) == (0, 0)


async def test_two_children_of_one_exclusive_parent_in_one_request_are_refused(
    gql: Executor,
) -> None:
    _, (p0, p1, _) = await priority(gql)
    both = await add(gql, [p0["id"], p1["id"]], ["1"])
    assert [(e["code"], e["field"]) for e in both["userErrors"]] == [("VALIDATION", ["tagIds"])]
    by_name = await add(gql, [p0["id"]], ["1"], tagNames=["p1"])
    assert [(e["code"], e["field"]) for e in by_name["userErrors"]] == [
        ("VALIDATION", ["tagNames"])
    ]
    # The same child named twice is one child.
    once = await add(gql, [p0["id"]], ["1"], tagNames=["P0"])
    assert once["userErrors"] == [] and once["addedCount"] == 1
    assert await carried(gql, "2") == set()
    refused = (
        await gql(
            SET,
            {
                "input": {
                    "workspaceId": WS,
                    "resource": {"type": "task", "id": "1"},
                    "tagIds": [p0["id"], p1["id"]],
                }
            },
        )
    ).ok()["setResourceTags"]
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("VALIDATION", ["tagIds"])]
    assert await carried(gql, "1") == {p0["id"]}


async def test_set_resource_tags_swaps_one_child_for_another(gql: Executor) -> None:
    _, (p0, p1, _) = await priority(gql)
    await add(gql, [p0["id"]], ["1"])
    swapped = (
        await gql(
            SET,
            {
                "input": {
                    "workspaceId": WS,
                    "resource": {"type": "task", "id": "1"},
                    "tagIds": [p1["id"]],
                }
            },
        )
    ).ok()["setResourceTags"]
    assert swapped == {"addedCount": 1, "removedCount": 1, "userErrors": []}
    assert await carried(gql, "1") == {p1["id"]}
    assert [await usage(gql, p0["id"]), await usage(gql, p1["id"])] == [0, 1]


async def test_combinations_made_earlier_stay_until_a_child_is_added(gql: Executor) -> None:
    parent = await create_tag(gql, "Size")
    s, m, big = [await create_tag(gql, n, parentId=parent["id"]) for n in ("S", "M", "L")]
    await tag_resources(gql, [s["id"], m["id"]], [("task", "1")])
    await gql(UPDATE_TAG, {"input": {"id": parent["id"], "exclusive": True}})
    assert await carried(gql, "1") == {s["id"], m["id"]}
    kept = await add(gql, [s["id"]], ["1"])
    assert (kept["addedCount"], kept["replacedCount"]) == (0, 0)
    assert await carried(gql, "1") == {s["id"], m["id"]}
    replaced = await add(gql, [big["id"]], ["1"])
    assert (replaced["addedCount"], replaced["replacedCount"]) == (1, 2)
    assert await carried(gql, "1") == {big["id"]}


async def test_a_child_that_moved_away_keeps_its_association_and_frees_the_slot(
    gql: Executor, store: Store
) -> None:
    _, (p0, p1, _) = await priority(gql)
    elsewhere = await create_tag(gql, "Elsewhere")
    await add(gql, [p0["id"]], ["1"])
    moved = await gql(UPDATE_TAG, {"input": {"id": p0["id"], "parentId": elsewhere["id"]}})
    assert moved.ok()["updateTag"]["userErrors"] == []
    # p0 still holds the slot it took under Priority; it is no child of it any more.
    result = await add(gql, [p1["id"]], ["1"])
    assert result["userErrors"] == []
    assert (result["addedCount"], result["replacedCount"]) == (1, 0)
    assert await carried(gql, "1") == {p0["id"], p1["id"]}
    assert (await repair(store)).clean


async def test_round_trips_do_not_grow_with_resources_when_replacing(gql: Executor) -> None:
    _, (p0, p1, _) = await priority(gql)
    trips = []
    for n in (5, 50):
        rids = [f"{n}-{i}" for i in range(n)]
        await add(gql, [p0["id"]], rids)
        result = await gql(
            ADD,
            {
                "input": {
                    "workspaceId": WS,
                    "resources": [{"type": "task", "id": r} for r in rids],
                    "tagIds": [p1["id"]],
                }
            },
        )
        assert result.ok()["addTagsToResources"]["replacedCount"] == n
        trips.append(result.round_trips)
    assert trips[0] == trips[1], trips


# Concurrency ----------------------------------------------------------------------------

ROUNDS = 12
RACERS = 16


async def test_concurrent_adds_of_different_children_end_with_exactly_one(
    gql: Executor,
    store: Store,
    interleaved: Counter[str],  # noqa: F811
) -> None:
    parent = await create_tag(gql, "Stage", exclusive=True)
    kids = [await create_tag(gql, f"S{i}", parentId=parent["id"]) for i in range(RACERS)]
    for round_ in range(ROUNDS):
        rid = f"race-{round_}"
        if round_ % 2:
            # Half the rounds start from a resource that already carries one child.
            await add(gql, [kids[0]["id"]], [rid])
        results = await asyncio.gather(*(add(gql, [k["id"]], [rid]) for k in kids))
        assert all(r["userErrors"] == [] for r in results), results
        on = await carried(gql, rid)
        assert len(on) == 1, (round_, on)
        added = sum(r["addedCount"] for r in results)
        replaced = sum(r["replacedCount"] for r in results)
        # Every association a request made is either still there or replaced by another.
        assert added - replaced == 1 - (round_ % 2), (added, replaced)
    counts = [await usage(gql, k["id"]) for k in kids]
    assert sum(counts) == ROUNDS
    assert interleaved["insert_many"] > ROUNDS * RACERS
    assert (await repair(store)).clean
