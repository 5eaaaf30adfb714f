"""Fan-out: one shared delivery per event, and a subscriber that never reads is dropped alone."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import pytest

from resolvers.events.bus import (
    QUEUE_LIMIT,
    Delivery,
    LocalBus,
    SubscriberTooSlow,
    TagEventKind,
    TagEventRecord,
)
from storage import Doc

AT = datetime(2026, 1, 1)


def event(n: int, ws: str = "w") -> TagEventRecord:
    return TagEventRecord(TagEventKind.UPDATED, f"tag_{n:024x}", ws, AT)


async def test_every_subscriber_gets_the_same_delivery_and_its_tag_loads_once() -> None:
    bus = LocalBus()
    streams = [bus.deliveries("w") for _ in range(3)]
    firsts = [asyncio.ensure_future(anext(s)) for s in streams]
    while bus.subscriber_count("w") < 3:
        await asyncio.sleep(0)
    await bus.publish([event(1)])
    deliveries: list[Delivery] = list(await asyncio.gather(*firsts))
    assert all(d is deliveries[0] for d in deliveries)
    loads = 0

    async def load() -> Doc | None:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return {"_id": "t"}

    waiting = [asyncio.ensure_future(d.tag(load)) for d in deliveries]
    # One subscriber leaving mid-load must not cancel the others' load.
    waiting[0].cancel()
    assert await asyncio.gather(*waiting[1:]) == [{"_id": "t"}, {"_id": "t"}]
    assert loads == 1
    assert bus.stats.deliveries == 3
    for stream in streams:
        await stream.aclose()


async def test_a_subscriber_that_never_reads_is_dropped_and_holds_nobody_up() -> None:
    bus = LocalBus()
    stalled = bus.deliveries("w")
    reader = bus.deliveries("w")
    first_stalled = asyncio.ensure_future(anext(stalled))
    first_read = asyncio.ensure_future(anext(reader))
    while bus.subscriber_count("w") < 2:
        await asyncio.sleep(0)
    await bus.publish([event(0)])
    await first_stalled
    received = [(await first_read).record]
    # The stalled subscriber takes nothing more; the reader keeps up event by event.
    for n in range(1, QUEUE_LIMIT + 5):
        await bus.publish([event(n)])
        received.append((await anext(reader)).record)
    assert received == [event(n) for n in range(QUEUE_LIMIT + 5)]
    assert bus.subscriber_count("w") == 1
    assert bus.stats.dropped == 1
    # What was queued before the overflow is still delivered, then the drop is told.
    queued = 0
    with pytest.raises(SubscriberTooSlow):
        while True:
            await anext(stalled)
            queued += 1
    assert queued == QUEUE_LIMIT
    with contextlib.suppress(StopAsyncIteration):
        await reader.aclose()
