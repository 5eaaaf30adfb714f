"""The lifespan's shutdown: what cancelled requests left half done is completed before exit."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from edge.lifespan import FIXUP_BUDGET_S, complete_before_exit
from storage import EVERYTHING, Store
from storage.repair import repair
from storage.tags import TagStore
from tests.harness import Executor, app_client
from tests.helpers import ADD_TAGS, WS, create_tag

USAGE = "query($id: ID!) { tag(id: $id) { usageCount } }"


async def test_a_tagging_cancelled_at_shutdown_is_taken_back_before_the_store_closes(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = await create_tag(gql, "Cancelled")
    reached = asyncio.Event()
    original = TagStore.add_usage_many

    async def stalls(self: TagStore, *args: Any, **kwargs: Any) -> None:
        # The associations are written; the request is cancelled before it counts them.
        reached.set()
        await asyncio.sleep(3600)

    monkeypatch.setattr(TagStore, "add_usage_many", stalls)
    variables = {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": str(n)} for n in range(5)],
            "tagIds": [tag["id"]],
        }
    }
    async with app_client(store) as (_, http):
        request = asyncio.create_task(
            http.post("/graphql", json={"query": ADD_TAGS, "variables": variables})
        )
        await asyncio.wait_for(reached.wait(), 30)
        assert len(await store.taggings.of_tags_in([(WS, tag["id"])], EVERYTHING)) == 5
        # What edge/middleware/shutdown.py does to a request still running after the grace.
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        monkeypatch.setattr(TagStore, "add_usage_many", original)
        assert store.recovery.pending == 1
    # The lifespan has ended: the fix-up ran before it let the store go.
    assert store.recovery.pending == 0
    assert await store.taggings.of_tags_in([(WS, tag["id"])], EVERYTHING) == []
    assert (await gql(USAGE, {"id": tag["id"]})).ok()["tag"]["usageCount"] == 0
    assert (await repair(store)).clean


async def test_fix_ups_that_outlast_the_budget_are_left_for_repair_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    done: list[str] = []

    async def quick() -> None:
        done.append("quick")

    async def slow() -> None:
        await asyncio.sleep(FIXUP_BUDGET_S * 10)
        done.append("slow")

    store.recovery.register("a quick step", quick)
    store.recovery.register("a slow step", slow)
    with caplog.at_level(logging.ERROR, logger="tags"):
        await complete_before_exit(store, budget=0.2)
    assert done == ["quick"]
    assert store.recovery.pending == 1
    assert "1 interrupted operation(s) could not be completed before exit" in caplog.text
    assert "tags-admin repair" in caplog.text
