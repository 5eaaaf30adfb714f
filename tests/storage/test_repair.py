"""Crash recovery: a mutation interrupted between two of its store steps leaves
data that still reads sensibly, and `storage.repair.repair` finishes the job.

Each test makes one store method raise in the middle of a mutation (the
request fails with INTERNAL_SERVER_ERROR), checks what clients read right
after, runs repair (which must find work), checks the data is consistent, and
runs repair again (which must find nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import pytest

from storage import Store
from storage.collection import Collection
from storage.repair import RepairReport, repair
from storage.taggings import TaggingStore, resource_key
from storage.tags import TagStore, type_key
from tests.harness import Executor
from tests.helpers import DELETE_TAG, UPDATE_TAG, WS, create_tag, tag_resources

MERGE_TAGS = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) {
    tag { id } mergedTagIds movedTaggingsCount userErrors { code field message }
  }
}
"""

SET_TAGS = """
mutation Set($input: SetResourceTagsInput!) {
  setResourceTags(input: $input) { addedCount removedCount userErrors { code } }
}
"""

ADD_TAGS = """
mutation Add($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount userErrors { code field message } }
}
"""

RESOURCE_TAGS = """
query Carried($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) { id name }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Tag { id parent { id } ancestors { id } depth usageCount }
  }
}
"""

ALL_TAGS = """
query All($ws: ID!) {
  tags(workspaceId: $ws, first: 100) { nodes { id parent { id } ancestors { id } depth } }
}
"""

TAG = """
query One($id: ID!) {
  tag(id: $id) {
    id parent { id } ancestors { id } depth childCount
    usageCount tasks: usageCount(resourceType: "task") files: usageCount(resourceType: "file")
  }
}
"""

RESOURCES = [("task", "t1"), ("task", "t2"), ("task", "t3"), ("file", "f1"), ("file", "f2")]


class Crash(Exception):
    """The process 'dies' here."""


@contextmanager
def crashing(
    monkeypatch: pytest.MonkeyPatch, owner: type, name: str, on_call: int = 1
) -> Iterator[list[Any]]:
    """While active, the `on_call`-th call of `owner.name` raises Crash (earlier
    ones run normally); yields the arguments of every call."""
    calls: list[Any] = []
    original = getattr(owner, name)

    async def crash(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) < on_call:
            return await original(self, *args, **kwargs)
        raise Crash(f"{owner.__name__}.{name}")

    with monkeypatch.context() as patch:
        patch.setattr(owner, name, crash)
        yield calls


async def run_crashing(gql: Executor, query: str, variables: dict[str, Any]) -> None:
    result = await gql(query, variables)
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"], (result.errors, result.data)


# Checks ---------------------------------------------------------------------


async def raw_state(store: Store) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    tags = {d["_id"]: d for d in await store.database.tags.find({})}
    rows = await store.database.taggings.find({})
    return tags, rows


async def assert_consistent(store: Store) -> None:
    """The invariants repair exists to restore, checked on the stored documents."""
    tags, rows = await raw_state(store)
    flagged = [t for t, d in tags.items() if "deleting" in d]
    assert flagged == [], f"tags still flagged for removal: {flagged}"
    for tag_id, doc in tags.items():
        chain: list[str] = []
        parent = doc["parentId"]
        while parent is not None:
            assert parent in tags, f"{tag_id} has a missing ancestor {parent}"
            assert parent not in chain and len(chain) < 5, f"cycle above {tag_id}"
            chain.insert(0, parent)
            parent = tags[parent]["parentId"]
        assert doc["ancestors"] == chain, (tag_id, doc["ancestors"], chain)
        assert doc["depth"] == len(chain), (tag_id, doc["depth"], chain)
    dangling = [r for r in rows if r["tagId"] not in tags]
    assert dangling == [], f"associations with a missing tag: {dangling}"
    assert max(Counter((r["rk"], r["tagId"]) for r in rows).values(), default=1) == 1
    total = Counter(r["tagId"] for r in rows)
    by_type: dict[str, Counter[str]] = {t: Counter() for t in tags}
    for row in rows:
        by_type[row["tagId"]][type_key(row["rtype"])] += 1
    for tag_id, doc in tags.items():
        assert doc["usage"] == total[tag_id], (tag_id, doc["usage"], total[tag_id])
        stored = {k: v for k, v in (doc.get("usageByType") or {}).items() if v}
        assert stored == dict(by_type[tag_id]), (tag_id, stored, by_type[tag_id])


async def assert_reads_sensibly(
    gql: Executor, resources: list[tuple[str, str]] = RESOURCES
) -> None:
    """What clients read right after a crash: no tag listed that cannot be fetched,
    no parent or ancestor that does not exist."""
    carried: set[str] = set()
    for rtype, rid in resources:
        result = await gql(RESOURCE_TAGS, {"ws": WS, "type": rtype, "id": rid})
        carried |= {t["id"] for t in result.ok()["resourceTags"]}
    listed = (await gql(ALL_TAGS, {"ws": WS})).ok()["tags"]["nodes"]
    ids = sorted(carried | {t["id"] for t in listed})
    nodes = (await gql(NODES, {"ids": ids})).ok()["nodes"]
    fetched = {i: n for i, n in zip(ids, nodes, strict=True)}
    missing = sorted(i for i in carried if fetched[i] is None)
    assert missing == [], f"resourceTags lists tags that tag(id:) says do not exist: {missing}"
    for node in fetched.values():
        if node is None:
            continue
        if node["parent"] is not None:
            assert fetched.get(node["parent"]["id"]) is not None, node
        assert node["usageCount"] >= 0, node
        ancestors = [a["id"] for a in node["ancestors"]]
        assert all(fetched.get(a) is not None for a in ancestors), node


async def assert_tag_gone(gql: Executor, tag_id: str) -> None:
    assert (await gql(TAG, {"id": tag_id})).ok()["tag"] is None
    for rtype, rid in RESOURCES:
        result = await gql(RESOURCE_TAGS, {"ws": WS, "type": rtype, "id": rid})
        assert tag_id not in {t["id"] for t in result.ok()["resourceTags"]}


async def repair_twice(store: Store) -> RepairReport:
    """First repair (returned) must find work; the data is then consistent and a
    second repair finds nothing."""
    report = await repair(store)
    assert not report.clean, report
    await assert_consistent(store)
    again = await repair(store)
    assert again.clean, f"second repair still found work: {again}"
    return report


def nonzero(report: RepairReport) -> dict[str, int]:
    return {k: v for k, v in asdict(report).items() if v}


async def tag_info(gql: Executor, tag_id: str) -> dict[str, Any]:
    tag = (await gql(TAG, {"id": tag_id})).ok()["tag"]
    assert tag is not None, tag_id
    return {
        "parent": tag["parent"]["id"] if tag["parent"] else None,
        "ancestors": [a["id"] for a in tag["ancestors"]],
        "depth": tag["depth"],
        "usage": (tag["usageCount"], tag["tasks"], tag["files"]),
        "children": tag["childCount"],
    }


async def carried_by(gql: Executor, rtype: str, rid: str) -> set[str]:
    result = await gql(RESOURCE_TAGS, {"ws": WS, "type": rtype, "id": rid})
    return {t["id"] for t in result.ok()["resourceTags"]}


# Data -------------------------------------------------------------------------


async def build(gql: Executor) -> dict[str, str]:
    """root > mid > leaf > tip, other > sub; taggings on tasks and files."""
    ids: dict[str, str] = {}
    ids["root"] = (await create_tag(gql, "Root"))["id"]
    ids["mid"] = (await create_tag(gql, "Mid", parentId=ids["root"]))["id"]
    ids["leaf"] = (await create_tag(gql, "Leaf", parentId=ids["mid"]))["id"]
    ids["tip"] = (await create_tag(gql, "Tip", parentId=ids["leaf"]))["id"]
    ids["other"] = (await create_tag(gql, "Other"))["id"]
    ids["sub"] = (await create_tag(gql, "Sub", parentId=ids["other"]))["id"]
    await tag_resources(gql, [ids["mid"], ids["other"]], [("task", "t1"), ("file", "f1")])
    await tag_resources(gql, [ids["mid"], ids["leaf"]], [("task", "t2")])
    await tag_resources(gql, [ids["other"], ids["sub"]], [("task", "t3"), ("file", "f2")])
    await tag_resources(gql, [ids["tip"]], [("file", "f2")])
    await assert_consistent(gql.store)
    return ids


# Tests --------------------------------------------------------------------------


async def test_repair_on_consistent_data_is_clean(gql: Executor, store: Store) -> None:
    ids = await build(gql)
    assert (await repair(store)).clean
    # Completed mutations of every multi-step kind leave nothing to repair either.
    moved = await gql(UPDATE_TAG, {"input": {"id": ids["leaf"], "parentId": ids["other"]}})
    assert moved.ok()["updateTag"]["userErrors"] == []
    merged = await gql(MERGE_TAGS, {"input": {"targetId": ids["root"], "sourceIds": [ids["sub"]]}})
    assert merged.ok()["mergeTags"]["userErrors"] == []
    deleted = await gql(DELETE_TAG, {"input": {"id": ids["other"]}})
    assert deleted.ok()["deleteTag"]["userErrors"] == []
    replaced = await gql(
        SET_TAGS,
        {
            "input": {
                "workspaceId": WS,
                "resource": {"type": "task", "id": "t1"},
                "tagIds": [ids["tip"]],
            }
        },
    )
    assert replaced.ok()["setResourceTags"]["userErrors"] == []
    await assert_consistent(store)
    report = await repair(store)
    assert report.clean, report
    await assert_consistent(store)


async def test_repair_finds_counters_drifted_by_hand(gql: Executor, store: Store) -> None:
    """Repair is not a no-op: it notices and fixes what it is for."""
    ids = await build(gql)
    await store.tags.set_fields(ids["mid"], {"usage": 99, "usageByType": {"task": 99}})
    await store.tags.set_place(ids["tip"], ids["leaf"], [ids["leaf"]])
    report = await repair_twice(store)
    assert nonzero(report) == {"counters_fixed": 1, "paths_fixed": 1}
    assert (await tag_info(gql, ids["mid"]))["usage"] == (3, 2, 1)
    assert (await tag_info(gql, ids["tip"]))["ancestors"] == [ids["root"], ids["mid"], ids["leaf"]]


async def test_delete_interrupted_before_untagging(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await build(gql)
    with crashing(monkeypatch, TaggingStore, "remove_tags") as calls:
        await run_crashing(gql, DELETE_TAG, {"input": {"id": ids["mid"]}})
    assert calls, "the crash point was never reached"

    await assert_reads_sensibly(gql)
    # The child was already lifted when the crash came.
    leaf = await tag_info(gql, ids["leaf"])
    assert (leaf["parent"], leaf["ancestors"], leaf["depth"]) == (ids["root"], [ids["root"]], 1)

    report = await repair_twice(store)
    assert report.finished_deletes == 1, report
    assert report.finished_merges == 0, report
    await assert_tag_gone(gql, ids["mid"])
    leaf = await tag_info(gql, ids["leaf"])
    assert (leaf["parent"], leaf["ancestors"], leaf["depth"]) == (ids["root"], [ids["root"]], 1)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["ancestors"], tip["depth"]) == ([ids["root"], ids["leaf"]], 2)
    assert await carried_by(gql, "task", "t2") == {ids["leaf"]}
    assert await carried_by(gql, "task", "t1") == {ids["other"]}
    assert (await tag_info(gql, ids["root"]))["children"] == 1


async def test_delete_interrupted_before_children_were_lifted(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await build(gql)
    with crashing(monkeypatch, TagStore, "lift_children_many"):
        await run_crashing(gql, DELETE_TAG, {"input": {"id": ids["mid"]}})
    await assert_reads_sensibly(gql)

    report = await repair_twice(store)
    assert report.finished_deletes == 1, report
    assert report.paths_fixed >= 2, report  # leaf and tip lose a level
    await assert_tag_gone(gql, ids["mid"])
    leaf = await tag_info(gql, ids["leaf"])
    assert (leaf["parent"], leaf["ancestors"], leaf["depth"]) == (ids["root"], [ids["root"]], 1)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["parent"], tip["ancestors"], tip["depth"]) == (
        ids["leaf"], [ids["root"], ids["leaf"]], 2,
    )  # fmt: skip


async def test_delete_with_descendants_interrupted_before_removing_tags(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await build(gql)
    with crashing(monkeypatch, TagStore, "delete_ids"):
        await run_crashing(
            gql, DELETE_TAG, {"input": {"id": ids["mid"], "deleteDescendants": True}}
        )
    await assert_reads_sensibly(gql)

    report = await repair_twice(store)
    assert report.finished_deletes == 3, report
    for name in ("mid", "leaf", "tip"):
        await assert_tag_gone(gql, ids[name])
    assert (await tag_info(gql, ids["root"]))["children"] == 0
    assert await carried_by(gql, "file", "f2") == {ids["other"], ids["sub"]}


async def interrupted_merge_of_mid(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch, target: str, crash_at: str
) -> tuple[dict[str, str], RepairReport]:
    """Merge "mid" into `target` on the built tree, crashing at TagStore.`crash_at`, then
    repair twice: the merge is finished, the source gone, and every resource that carried
    the source now carries the target (once). Returns the tree's ids and the first report."""
    ids = await build(gql)
    before = {rk: await carried_by(gql, *rk) for rk in RESOURCES}
    with crashing(monkeypatch, TagStore, crash_at) as calls:
        await run_crashing(
            gql, MERGE_TAGS, {"input": {"targetId": ids[target], "sourceIds": [ids["mid"]]}}
        )
    assert calls, "the crash point was never reached"
    await assert_reads_sensibly(gql)

    report = await repair_twice(store)
    assert report.finished_merges == 1, report
    await assert_tag_gone(gql, ids["mid"])
    for rk, had in before.items():
        expected = {ids[target] if t == ids["mid"] else t for t in had}
        assert await carried_by(gql, *rk) == expected, rk
    return ids, report


async def test_merge_interrupted_after_taggings_moved(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, report = await interrupted_merge_of_mid(gql, store, monkeypatch, "other", "delete_ids")
    assert report.finished_deletes == 0, report
    other = await tag_info(gql, ids["other"])
    # t1, f1, t3, f2 of its own, t2 from the source (t1 and f1 carried both).
    assert other["usage"] == (5, 3, 2), other
    # The source's child moved under the target.
    leaf = await tag_info(gql, ids["leaf"])
    assert (leaf["parent"], leaf["ancestors"], leaf["depth"]) == (ids["other"], [ids["other"]], 1)
    tip = await tag_info(gql, ids["tip"])
    assert tip["ancestors"] == [ids["other"], ids["leaf"]]


async def test_merge_interrupted_while_moving_taggings(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash comes after the target's new associations were written but
    before its counter and the tree were updated, and before the source lost
    its own associations."""
    ids, report = await interrupted_merge_of_mid(gql, store, monkeypatch, "sub", "add_usage_many")
    assert report.counters_fixed >= 1, report
    assert report.paths_fixed >= 2, report  # leaf and tip now hang below other > sub
    assert (await tag_info(gql, ids["sub"]))["usage"] == (5, 3, 2)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["ancestors"], tip["depth"]) == ([ids["other"], ids["sub"], ids["leaf"]], 3)


@pytest.mark.parametrize(
    ("target", "crash_call"),
    [("leaf", 1), ("tip", 1), ("tip", 2)],
    ids=["child-before-moves", "grandchild-before-moves", "grandchild-between-moves"],
)
async def test_merge_into_a_descendant_interrupted_while_the_tree_moves(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch, target: str, crash_call: int
) -> None:
    """The target lies below the source (root > mid > leaf > tip, mid merged
    into leaf or tip): the child of mid on the way down to the target moves up
    to root, the target keeps its parent. Interrupted before or between those
    moves, repair must still make a proper tree (the target must not end up
    its own parent or ancestor)."""
    ids = await build(gql)
    target_id = ids[target]
    before = await tag_info(gql, target_id)
    # The moves are one ordered bulk: "between moves" is a bulk cut short after its first.
    calls: list[Any] = []
    original = TagStore.set_places

    async def cut_short(self: TagStore, places: dict[str, Any]) -> None:
        calls.append(places)
        await original(self, dict(list(places.items())[: crash_call - 1]))
        raise Crash("TagStore.set_places")

    with monkeypatch.context() as patch:
        patch.setattr(TagStore, "set_places", cut_short)
        await run_crashing(
            gql, MERGE_TAGS, {"input": {"targetId": target_id, "sourceIds": [ids["mid"]]}}
        )
    assert calls and len(calls[0]) >= crash_call, "the crash point was never reached"
    await assert_reads_sensibly(gql)

    report = await repair_twice(store)
    assert report.finished_merges == 1, report
    await assert_tag_gone(gql, ids["mid"])
    leaf = await tag_info(gql, ids["leaf"])
    assert (leaf["parent"], leaf["ancestors"], leaf["depth"]) == (ids["root"], [ids["root"]], 1)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["parent"], tip["ancestors"], tip["depth"]) == (
        ids["leaf"], [ids["root"], ids["leaf"]], 2,
    )  # fmt: skip
    # mid was on t1, f1 and t2; the target now is wherever it was not already.
    assert await carried_by(gql, "task", "t1") == {target_id, ids["other"]}
    assert await carried_by(gql, "file", "f1") == {target_id, ids["other"]}
    assert target_id in await carried_by(gql, "task", "t2")
    total, tasks, files = before["usage"]
    gained = {"t1", "f1"} | ({"t2"} if target == "tip" else set())
    expected = (
        total + len(gained),
        tasks + sum(1 for r in gained if r.startswith("t")),
        files + sum(1 for r in gained if r.startswith("f")),
    )
    assert (await tag_info(gql, target_id))["usage"] == expected


async def test_repair_breaks_parent_cycles(gql: Executor, store: Store) -> None:
    """A tag that is its own parent, and two tags that are each other's parent."""
    ids = await build(gql)
    await store.tags.set_place(ids["mid"], ids["mid"], [ids["mid"]])
    await store.tags.set_place(ids["other"], ids["sub"], [ids["sub"]])
    await store.tags.set_place(ids["sub"], ids["other"], [ids["other"]])

    await repair_twice(store)
    mid = await tag_info(gql, ids["mid"])
    assert (mid["parent"], mid["ancestors"], mid["depth"]) == (None, [], 0)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["ancestors"], tip["depth"]) == ([ids["mid"], ids["leaf"]], 2)
    pair = [await tag_info(gql, ids["other"]), await tag_info(gql, ids["sub"])]
    assert sorted(p["depth"] for p in pair) == [0, 1], pair


async def test_tagging_interrupted_before_counting(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await build(gql)
    resources = [
        {"type": "task", "id": "t4"},
        {"type": "file", "id": "f3"},
        {"type": "task", "id": "t1"},
    ]
    with crashing(monkeypatch, TagStore, "add_usage_many") as calls:
        await run_crashing(
            gql,
            ADD_TAGS,
            {
                "input": {
                    "workspaceId": WS,
                    "resources": resources,
                    "tagIds": [ids["tip"], ids["mid"]],
                }
            },
        )
    assert calls, "the crash point was never reached"
    everywhere = [*RESOURCES, ("task", "t4"), ("file", "f3")]
    await assert_reads_sensibly(gql, everywhere)

    report = await repair_twice(store)
    assert nonzero(report) == {"counters_fixed": 2}, report
    assert (await tag_info(gql, ids["tip"]))["usage"] == (4, 2, 2)
    assert (await tag_info(gql, ids["mid"]))["usage"] == (5, 3, 2)
    assert await carried_by(gql, "task", "t4") == {ids["tip"], ids["mid"]}


async def test_reparenting_interrupted_before_the_subtree_moved(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await build(gql)
    with crashing(monkeypatch, TagStore, "move_subtree") as calls:
        await run_crashing(gql, UPDATE_TAG, {"input": {"id": ids["mid"], "parentId": ids["sub"]}})
    assert calls, "the crash point was never reached"
    await assert_reads_sensibly(gql)
    # The moved tag itself is already in its new place.
    mid = await tag_info(gql, ids["mid"])
    assert (mid["parent"], mid["ancestors"], mid["depth"]) == (
        ids["sub"], [ids["other"], ids["sub"]], 2,
    )  # fmt: skip

    report = await repair_twice(store)
    # Leaf and tip; and the move's history entry, written with the move, which the
    # crash kept from being copied to the history.
    assert nonzero(report) == {"paths_fixed": 2, "history_entries_written": 1}, report
    leaf = await tag_info(gql, ids["leaf"])
    assert (leaf["ancestors"], leaf["depth"]) == ([ids["other"], ids["sub"], ids["mid"]], 3)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["ancestors"], tip["depth"]) == (
        [ids["other"], ids["sub"], ids["mid"], ids["leaf"]],
        4,
    )


async def test_the_subtree_rewrite_can_simply_run_again(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The descendants' paths are rewritten in one update computed from each document,
    so a fix-up (or a crash right after it) may repeat it without harm."""
    ids = await build(gql)
    original = Collection.update_many
    seen: list[Any] = []

    async def twice(self: Collection, filter: Any, update: Any) -> int:
        if isinstance(update, list):
            seen.append(update)
        await original(self, filter, update)
        return await original(self, filter, update)

    with monkeypatch.context() as patch:
        patch.setattr(Collection, "update_many", twice)
        result = await gql(UPDATE_TAG, {"input": {"id": ids["leaf"], "parentId": ids["other"]}})
    assert result.ok()["updateTag"]["userErrors"] == []
    assert len(seen) == 1 and isinstance(seen[0], list), seen  # one pipeline update
    await assert_reads_sensibly(gql)
    tip = await tag_info(gql, ids["tip"])
    assert (tip["parent"], tip["ancestors"], tip["depth"]) == (
        ids["leaf"], [ids["other"], ids["leaf"]], 2,
    )  # fmt: skip
    await assert_consistent(store)
    assert (await repair(store)).clean


async def test_dangling_associations_are_removed(gql: Executor, store: Store) -> None:
    """Associations left behind by a tag that is gone outright."""
    ids = await build(gql)
    await store.database.tags.delete_many({"_id": ids["sub"]})
    await assert_reads_sensibly(gql)
    assert await carried_by(gql, "task", "t3") == {ids["other"]}

    report = await repair_twice(store)
    assert nonzero(report) == {"dangling_taggings": 2}, report
    rows = await store.database.taggings.find({"rk": resource_key("task", "t3")})
    assert [r["tagId"] for r in rows] == [ids["other"]]
