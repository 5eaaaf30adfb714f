"""Live tag events: what mutations publish and `tagEvents` subscriptions receive.

Mutations collect events while they work and publish them once they have
succeeded, in the order the changes were made. The bus is an interface: the
in-process `LocalBus` serves one worker; `SharedBus` carries events between
workers and instances through an event log (`storage.events.MongoEventLog`,
MongoDB change streams).

Publishing happens after the mutation's own writes committed, so it never
fails the mutation: events the store could not take are recorded later by the
recovery journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.errors import StoreError, StoreUnavailable
from storage.events import EventLog
from storage.recovery import Recovery

log = logging.getLogger("tags.events")


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


class SharedBus:
    """Events shared by every worker through an event log (MongoDB change streams).

    Publishing only appends to the log; one follower task per process reads the
    log back in commit order and fans out to this process's subscribers,
    including the publisher's own.
    """

    def __init__(self, event_log: EventLog, recovery: Recovery | None = None) -> None:
        self._log = event_log
        # The service passes the store's journal, which it runs once the store is back.
        self.recovery = recovery if recovery is not None else Recovery()
        self._local = LocalBus()
        self._follower: asyncio.Task[None] | None = None

    async def publish(self, events: Sequence[TagEventRecord]) -> None:
        """Append the events to the log; never raises a store failure (see the module doc)."""
        docs = [
            {"ws": e.workspace_id, "kind": e.kind.value, "tagId": e.tag_id, "at": e.at}
            for e in events
        ]
        try:
            await self._log.append(docs)
        except StoreUnavailable:
            # The same docs again: the log stamps them on the first attempt, so an
            # attempt that was written but not answered is not recorded twice.
            async def record() -> None:
                await self._log.append(docs)

            self.recovery.register(f"recording {len(docs)} tag event(s)", record)
        except StoreError:
            # Refused: a retry would be refused too. The change itself is committed.
            log.exception("could not record %d tag event(s); subscribers miss them", len(docs))

    async def _follow(self) -> None:
        async for doc in self._log.follow():
            try:
                event = TagEventRecord(
                    TagEventKind(doc["kind"]), doc["tagId"], doc["ws"], doc["at"]
                )
            except (KeyError, ValueError):
                log.warning("ignoring a malformed event document")
                continue
            await self._local.publish([event])

    async def subscribe(self, workspace_id: str) -> AsyncIterator[TagEventRecord]:
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow())
        async for event in self._local.subscribe(workspace_id):
            yield event

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._local.close()

    def subscriber_count(self, workspace_id: str) -> int:
        return self._local.subscriber_count(workspace_id)
