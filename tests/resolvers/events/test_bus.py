"""The event buses: in-process fan-out, and the bus shared by several workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from resolvers.events.bus import LocalBus, SharedBus, TagEventKind, TagEventRecord
from tests.harness import open_test_store, store_uri

AT = datetime(2026, 1, 1)


def event(n: int, ws: str = "w") -> TagEventRecord:
    return TagEventRecord(TagEventKind.UPDATED, f"tag_{n:024x}", ws, AT)


class FakeLog:
    """An append-only log every follower reads from the start, like a change stream."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []
        self.grew = asyncio.Condition()

    async def append(self, docs: Sequence[dict[str, Any]]) -> None:
        async with self.grew:
            self.docs.extend(docs)
            self.grew.notify_all()

    async def follow(self) -> AsyncIterator[dict[str, Any]]:
        seen = len(self.docs)
        while True:
            async with self.grew:

                def grown(seen: int = seen) -> bool:
                    return len(self.docs) > seen

                await self.grew.wait_for(grown)
            while seen < len(self.docs):
                seen += 1
                yield self.docs[seen - 1]


async def take(stream: Any, n: int) -> list[TagEventRecord]:
    """The first n events; then the subscription is closed, as Strawberry closes it."""
    out = []
    async with contextlib.aclosing(stream):
        async for item in stream:
            out.append(item)
            if len(out) == n:
                break
    return out


async def until_subscribed(bus: Any, ws: str) -> None:
    while bus.subscriber_count(ws) == 0:
        await asyncio.sleep(0)


async def test_local_bus_fans_out_per_workspace_in_order() -> None:
    bus = LocalBus()
    mine, also_mine = bus.subscribe("w"), bus.subscribe("w")
    first = asyncio.create_task(take(mine, 3))
    second = asyncio.create_task(take(also_mine, 3))
    await until_subscribed(bus, "w")
    while bus.subscriber_count("w") < 2:
        await asyncio.sleep(0)
    await bus.publish([event(1), event(9, ws="other"), event(2), event(3)])
    expected = [event(1), event(2), event(3)]
    assert await asyncio.wait_for(first, 2) == expected
    assert await asyncio.wait_for(second, 2) == expected
    assert bus.subscriber_count("w") == 0  # finished subscriptions unregister


async def test_shared_bus_delivers_every_workers_events_to_every_worker_in_log_order() -> None:
    log = FakeLog()
    worker_a, worker_b = SharedBus(log), SharedBus(log)
    seen_a = asyncio.create_task(take(worker_a.subscribe("w"), 4))
    seen_b = asyncio.create_task(take(worker_b.subscribe("w"), 4))
    await until_subscribed(worker_a, "w")
    await until_subscribed(worker_b, "w")
    await asyncio.sleep(0.01)  # let both followers start reading the log
    await worker_a.publish([event(1), event(2)])
    await worker_b.publish([event(3), event(8, ws="other")])
    await worker_a.publish([event(4)])
    expected = [event(1), event(2), event(3), event(4)]
    assert await asyncio.wait_for(seen_a, 2) == expected
    assert await asyncio.wait_for(seen_b, 2) == expected
    await worker_a.close()
    await worker_b.close()


async def test_shared_bus_skips_malformed_log_entries() -> None:
    log = FakeLog()
    bus = SharedBus(log)
    seen = asyncio.create_task(take(bus.subscribe("w"), 1))
    await until_subscribed(bus, "w")
    await asyncio.sleep(0.01)
    await log.append([{"ws": "w", "kind": "EXPLODED", "tagId": "x", "at": AT}])
    await bus.publish([event(5)])
    assert await asyncio.wait_for(seen, 2) == [event(5)]
    await bus.close()


async def test_change_streams_carry_events_between_two_processes_worth_of_buses() -> None:
    from storage import open_store
    from storage.events import MongoEventLog, supports_change_streams

    async with open_test_store("tags_events") as first:
        second = open_store(store_uri(), first.database.db.name)
        try:
            assert await supports_change_streams(first.database)
            bus_a, bus_b = (
                SharedBus(MongoEventLog(first.database)),
                SharedBus(MongoEventLog(second.database)),
            )
            seen = asyncio.create_task(take(bus_b.subscribe("w"), 2))
            await until_subscribed(bus_b, "w")
            await asyncio.sleep(1)  # the change stream opens asynchronously
            await bus_a.publish([event(1), event(2)])
            got = await asyncio.wait_for(seen, 10)
            assert [e.tag_id for e in got] == [event(1).tag_id, event(2).tag_id]
            await bus_a.close()
            await bus_b.close()
        finally:
            second.close()
