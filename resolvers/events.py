"""Live tag events: what mutations publish and `tagEvents` subscriptions receive.

Mutations collect events while they work and publish them once they have
succeeded, in the order the changes were made. The bus is an interface: the
in-process `LocalBus` serves one worker; `storage.events.ChangeStreamBus`
carries events between workers and instances through MongoDB change streams.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class TagEventKind(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    MERGED = "MERGED"
    USAGE_CHANGED = "USAGE_CHANGED"


@dataclass(frozen=True, slots=True)
class TagEventRecord:
    kind: TagEventKind
    tag_id: str
    workspace_id: str
    at: datetime


class EventBus(Protocol):
    async def publish(self, events: Sequence[TagEventRecord]) -> None: ...

    def subscribe(self, workspace_id: str) -> AsyncIterator[TagEventRecord]: ...

    async def close(self) -> None: ...


# A subscriber that cannot keep up loses its subscription rather than
# growing memory without bound.
QUEUE_LIMIT = 10_000


class SubscriberTooSlow(Exception):
    pass


class LocalBus:
    """Fan-out to the subscriptions of this process."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[TagEventRecord | None]]] = {}

    async def publish(self, events: Sequence[TagEventRecord]) -> None:
        for event in events:
            for queue in list(self._queues.get(event.workspace_id, ())):
                if queue.qsize() >= QUEUE_LIMIT:
                    # None tells the subscriber it fell behind and was dropped.
                    self._drop(event.workspace_id, queue)
                    queue.put_nowait(None)
                else:
                    queue.put_nowait(event)

    def _drop(self, workspace_id: str, queue: asyncio.Queue[TagEventRecord | None]) -> None:
        subscribers = self._queues.get(workspace_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._queues[workspace_id]

    async def subscribe(self, workspace_id: str) -> AsyncIterator[TagEventRecord]:
        queue: asyncio.Queue[TagEventRecord | None] = asyncio.Queue()
        self._queues.setdefault(workspace_id, set()).add(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    raise SubscriberTooSlow
                yield event
        finally:
            self._drop(workspace_id, queue)

    async def close(self) -> None:
        self._queues.clear()

    def subscriber_count(self, workspace_id: str) -> int:
        return len(self._queues.get(workspace_id, ()))
