"""tagEvents through the schema: a subscription that fell behind ends with a resync error."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from resolvers.events.bus import QUEUE_LIMIT, LocalBus, TagEventKind, TagEventRecord
from schema import TagsSchema
from storage import Store

SUBSCRIBE = 'subscription { tagEvents(workspaceId: "w") { kind tagId } }'


async def test_overflow_ends_the_subscription_with_a_resync_error(
    schema: TagsSchema, store: Store
) -> None:
    bus = LocalBus()
    context = make_context(None, DEV_PRINCIPAL, store, "overflow", bus=bus)
    stream: Any = await schema.subscribe(SUBSCRIBE, context_value=context)
    first = asyncio.ensure_future(stream.__anext__())
    while bus.subscriber_count("w") == 0:
        await asyncio.sleep(0)
    at = datetime(2026, 1, 1)
    # DELETED events carry no tag: nothing to load, only the queue is exercised.
    await bus.publish(
        [TagEventRecord(TagEventKind.DELETED, f"t{n}", "w", at) for n in range(QUEUE_LIMIT + 1)]
    )
    results = [await first]
    async for result in stream:
        results.append(result)
    assert all(not r.errors for r in results[:-1])
    assert [r.data["tagEvents"]["tagId"] for r in results[:-1]] == [
        f"t{n}" for n in range(QUEUE_LIMIT)
    ]
    [error] = results[-1].errors
    assert error.extensions is not None and error.extensions["resync"] is True
    assert "fell more than" in error.message
    assert bus.subscriber_count("w") == 0
    assert bus.stats.dropped == 1
