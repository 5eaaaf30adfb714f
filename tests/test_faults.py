"""The store goes away mid-load and comes back (behaviour only; latencies are in bench/REPORT.md)."""

from __future__ import annotations

from bench.faults import scenario
from tests.harness import store_uri

UNAVAILABLE = "The data store is unavailable; try again shortly."


async def test_outage_mid_load_fails_clearly_and_recovers_without_losing_anything():
    out = await scenario(store_uri(), clients=8, seconds=4.5, timeout_ms=200)
    assert out.requests > 50
    # Readiness follows the store: ready, then 503 while it is away, then ready again by itself.
    assert [status for _, status in out.readiness] == [200, 503, 200]
    # Requests that failed said why, with no internals.
    assert out.failed_fast, "the outage caused no failure at all"
    assert out.failed_messages == {UNAVAILABLE}
    # What the outage interrupted was completed once the store was back...
    assert out.pending_after == 0
    # ...no acknowledged creation is missing, and repair has nothing left to do.
    assert out.acknowledged_tags and out.lost == []
    assert out.repair is not None and out.repair.clean, out.repair


# --- An outage that begins between two steps of one mutation --------------------------------

import asyncio  # noqa: E402
import functools  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from storage.repair import repair  # noqa: E402
from storage.taggings import TaggingStore  # noqa: E402
from storage.tags import TagStore  # noqa: E402
from tests.helpers import ADD_TAGS, DELETE_TAG, UPDATE_TAG, WS, create_tag, tag_resources  # noqa: E402

REMOVE = """mutation($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) { removedCount userErrors { code } } }"""
MERGE = """mutation($input: MergeTagsInput!) {
  mergeTags(input: $input) { movedTaggingsCount userErrors { code } } }"""
USAGE = "query($id: ID!) { tag(id: $id) { usageCount } }"


def outage_at(monkeypatch: Any, store: Any, cls: type, method: str) -> None:
    """The store becomes unreachable just as `cls.method` is about to run."""
    original = getattr(cls, method)

    @functools.wraps(original)
    async def cut(self: Any, *args: Any, **kwargs: Any) -> Any:
        store.database.outage.begin()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, cut)


async def back_and_recovered(store: Any) -> None:
    store.database.outage.end()
    assert store.recovery.pending > 0, "nothing was registered for completion"
    assert await store.recovery.run_pending() == 0


async def scenario_add(gql: Any, monkeypatch: Any, store: Any) -> Callable[[], Any]:
    tag = await create_tag(gql, "Cut")
    outage_at(monkeypatch, store, TagStore, "add_usage")
    result = await gql(
        ADD_TAGS,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "1"}],
                "tagIds": [tag["id"]],
            }
        },
    )
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()

    async def check() -> None:
        # The failed request is taken back entirely: no association, no count.
        assert (await gql(USAGE, {"id": tag["id"]})).ok()["tag"]["usageCount"] == 0
        rows = await store.taggings.of_resources([WS], ["task\x1f1"], store_visibility())
        assert rows == []

    return check


async def scenario_remove(gql: Any, monkeypatch: Any, store: Any) -> Callable[[], Any]:
    tag = await create_tag(gql, "Cut")
    await tag_resources(gql, [tag["id"]], [("task", "1"), ("task", "2")])
    outage_at(monkeypatch, store, TagStore, "add_usage")
    result = await gql(
        REMOVE,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "1"}],
                "tagIds": [tag["id"]],
            }
        },
    )
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()

    async def check() -> None:
        assert (await gql(USAGE, {"id": tag["id"]})).ok()["tag"]["usageCount"] == 1

    return check


async def scenario_delete(gql: Any, monkeypatch: Any, store: Any) -> Callable[[], Any]:
    parent = await create_tag(gql, "Parent")
    doomed = await create_tag(gql, "Doomed", parentId=parent["id"])
    child = await create_tag(gql, "Child", parentId=doomed["id"])
    await tag_resources(gql, [doomed["id"]], [("task", "1")])
    outage_at(monkeypatch, store, TaggingStore, "remove_tags")
    result = await gql(DELETE_TAG, {"input": {"id": doomed["id"]}})
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()

    async def check() -> None:
        assert (await gql("query($id: ID!) { tag(id: $id) { id } }", {"id": doomed["id"]})).ok()[
            "tag"
        ] is None
        moved = (
            await gql(
                "query($id: ID!) { tag(id: $id) { parent { id } depth } }", {"id": child["id"]}
            )
        ).ok()["tag"]
        assert moved == {"parent": {"id": parent["id"]}, "depth": 1}

    return check


async def scenario_merge(gql: Any, monkeypatch: Any, store: Any) -> Callable[[], Any]:
    target = await create_tag(gql, "Target")
    source = await create_tag(gql, "Source")
    await tag_resources(gql, [source["id"]], [("task", "1"), ("task", "2")])
    outage_at(monkeypatch, store, TaggingStore, "remove_tags")
    result = await gql(MERGE, {"input": {"targetId": target["id"], "sourceIds": [source["id"]]}})
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()

    async def check() -> None:
        assert (await gql(USAGE, {"id": target["id"]})).ok()["tag"]["usageCount"] == 2
        assert (await gql(USAGE, {"id": source["id"]})).ok()["tag"] is None

    return check


async def scenario_move(gql: Any, monkeypatch: Any, store: Any) -> Callable[[], Any]:
    a = await create_tag(gql, "A")
    b = await create_tag(gql, "B")
    leaf = await create_tag(gql, "Leaf", parentId=b["id"])
    outage_at(monkeypatch, store, TagStore, "move_subtree")
    result = await gql(UPDATE_TAG, {"input": {"id": b["id"], "parentId": a["id"]}})
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()

    async def check() -> None:
        moved = (
            await gql(
                "query($id: ID!) { tag(id: $id) { depth ancestors { id } } }", {"id": leaf["id"]}
            )
        ).ok()["tag"]
        assert moved == {"depth": 2, "ancestors": [{"id": a["id"]}, {"id": b["id"]}]}

    return check


def store_visibility() -> Any:
    from storage import EVERYTHING

    return EVERYTHING


@pytest.mark.parametrize(
    "scenario", [scenario_add, scenario_remove, scenario_delete, scenario_merge, scenario_move]
)
async def test_an_interrupted_mutation_is_completed_once_the_store_is_back(
    gql, store, monkeypatch, scenario
):
    store.database.outage.timeout = 0.05
    check = await scenario(gql, monkeypatch, store)
    await back_and_recovered(store)
    await check()
    assert (await repair(store)).clean
    await asyncio.sleep(0)
