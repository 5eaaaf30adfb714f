"""The recovery journal's counter guard: a recount never lands between a request's
write of associations and its `$inc` (the counter once ended off by one)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from resolvers.associations import recount_guarded
from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from storage import Store
from storage.recovery import CounterGuard
from storage.tags import TagStore
from tests.harness import Executor
from tests.helpers import create_tag, tag_resources

USAGE = "query($id: ID!) { tag(id: $id) { usageCount } }"


async def test_a_recount_waits_for_writers_and_holds_new_ones_back() -> None:
    guard = CounterGuard()
    order: list[str] = []
    writer_in = asyncio.Event()
    release = asyncio.Event()

    async def writer(name: str, hold: bool) -> None:
        async with guard.writing(["t"]):
            order.append(f"{name} in")
            if hold:
                writer_in.set()
                await release.wait()
            order.append(f"{name} out")

    async def recounter() -> None:
        async with guard.recounting(["t", "u"]):
            order.append("recount")

    first = asyncio.create_task(writer("first", True))
    await writer_in.wait()
    recount = asyncio.create_task(recounter())
    await asyncio.sleep(0.01)
    # Waiting for `first`; a writer arriving now waits behind the recount.
    second = asyncio.create_task(writer("second", False))
    other = asyncio.create_task(_other_tag(guard, order))
    await asyncio.sleep(0.01)
    assert order == ["first in", "other tag"], order
    release.set()
    await asyncio.gather(first, recount, second, other)
    assert order == ["first in", "other tag", "first out", "recount", "second in", "second out"]


async def _other_tag(guard: CounterGuard, order: list[str]) -> None:
    # A tag the recount does not touch is never held back.
    async with guard.writing(["v"]):
        order.append("other tag")


async def test_recount_during_a_tagging_leaves_the_counter_right(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = await create_tag(gql, "Busy")
    await tag_resources(gql, [tag["id"]], [("task", "1")])
    written = asyncio.Event()
    go_on = asyncio.Event()
    original = TagStore.add_usage_many

    async def paused(self: TagStore, deltas: Mapping[str, Mapping[str, int]]) -> None:
        # The associations are in the store; their $inc has not been sent yet.
        written.set()
        await go_on.wait()
        await original(self, deltas)

    monkeypatch.setattr(TagStore, "add_usage_many", paused)
    adding = asyncio.create_task(tag_resources(gql, [tag["id"]], [("task", "2"), ("file", "3")]))
    await written.wait()
    ctx = make_context(None, DEV_PRINCIPAL, store)
    recounting = asyncio.create_task(recount_guarded(ctx, [tag["id"]]))
    await asyncio.sleep(0.05)
    assert not recounting.done(), "the recount did not wait for the tagging"
    go_on.set()
    assert await adding == 2
    await recounting
    result: Any = (await gql(USAGE, {"id": tag["id"]})).ok()
    assert result["tag"]["usageCount"] == 3
    doc = (await store.tags.by_id_list([tag["id"]], {"usage": 1, "usageByType": 1}))[0]
    assert (doc["usage"], doc["usageByType"]) == (3, {"task": 2, "file": 1})
