"""Live tag events: what mutations publish and `tagEvents` subscriptions receive.

Mutations collect events while they work and publish them once they have
succeeded, in the order the changes were made. The bus is an interface: the
in-process `LocalBus` serves one worker; `SharedBus` carries events between
workers and instances through an event log (`storage.events.MongoEventLog`,
MongoDB change streams).

Publishing happens after the mutation's own writes committed, so it never
fails the mutation: events the store could not take are recorded later by the
recovery journal.

Fan-out shares the work: every subscriber of a workspace receives the same
`Delivery` of an event, so what one subscriber loads for it (the tag as it is
now) is loaded once and serves them all. Each subscription has a bounded queue
(`QUEUE_LIMIT` events); publishing never waits for a subscriber, and one whose
queue is full is dropped (`SubscriberTooSlow`): it missed events and must
resubscribe and refetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.collection import Doc
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
    ARCHIVED = "ARCHIVED"
    RESTORED = "RESTORED"


@dataclass(frozen=True, slots=True)
class TagEventRecord:
    kind: TagEventKind
    tag_id: str
    workspace_id: str
    at: datetime


@dataclass(slots=True)
class EventStats:
    """What delivering events cost this process, for /metrics and tests."""

    # Events handed to subscriptions (one per event and subscriber).
    deliveries: int = 0
    # Store round trips made to load event payloads, shared or per subscriber.
    round_trips: int = 0
    # Subscriptions dropped because their queue was full.
    dropped: int = 0


class Delivery:
    """One event as every subscriber of its workspace receives it: the same object for all.

    `tag` loads the event's tag once, whoever asks first; the others wait for
    that load. A subscriber that leaves while waiting does not cancel it.
    """

    __slots__ = ("_tag", "record")

    def __init__(self, record: TagEventRecord) -> None:
        self.record = record
        self._tag: asyncio.Task[Doc | None] | None = None

    def tag(self, load: Callable[[], Awaitable[Doc | None]]) -> Awaitable[Doc | None]:
        if self._tag is None:
            self._tag = asyncio.ensure_future(load())
        return asyncio.shield(self._tag)


class EventBus(Protocol):
    stats: EventStats

    async def publish(self, events: Sequence[TagEventRecord]) -> None: ...

    def subscribe(self, workspace_id: str) -> AsyncIterator[TagEventRecord]: ...

    def deliveries(self, workspace_id: str) -> AsyncIterator[Delivery]: ...

    async def close(self) -> None: ...


# Per subscription. Large enough for the biggest burst one mutation makes (a
# createTags of 100, a deleteTags of a subtree) several times over; small
# enough that a subscriber that never reads holds little memory. Events are
# shared objects, so a full queue costs a pointer per event.
QUEUE_LIMIT = 1_000


class SubscriberTooSlow(Exception):
    """The subscription's queue overflowed: it missed events and was dropped."""


class LocalBus:
    """Fan-out to the subscriptions of this process."""

    def __init__(self, stats: EventStats | None = None) -> None:
        self._queues: dict[str, set[asyncio.Queue[Delivery | None]]] = {}
        self.stats = stats if stats is not None else EventStats()

    async def publish(self, events: Sequence[TagEventRecord]) -> None:
        for event in events:
            subscribers = self._queues.get(event.workspace_id)
            if not subscribers:
                continue
            delivery = Delivery(event)
            for queue in list(subscribers):
                if queue.qsize() >= QUEUE_LIMIT:
                    # None tells the subscriber it fell behind and was dropped.
                    self._drop(event.workspace_id, queue)
                    queue.put_nowait(None)
                    self.stats.dropped += 1
                else:
                    queue.put_nowait(delivery)
                    self.stats.deliveries += 1

    def _drop(self, workspace_id: str, queue: asyncio.Queue[Delivery | None]) -> None:
        subscribers = self._queues.get(workspace_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._queues[workspace_id]

    async def deliveries(self, workspace_id: str) -> AsyncGenerator[Delivery, None]:
        queue: asyncio.Queue[Delivery | None] = asyncio.Queue()
        self._queues.setdefault(workspace_id, set()).add(queue)
        try:
            while True:
                delivery = await queue.get()
                if delivery is None:
                    raise SubscriberTooSlow
                yield delivery
        finally:
            self._drop(workspace_id, queue)

    async def subscribe(self, workspace_id: str) -> AsyncIterator[TagEventRecord]:
        async for delivery in self.deliveries(workspace_id):
            yield delivery.record

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
        self.stats = self._local.stats
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

    async def deliveries(self, workspace_id: str) -> AsyncGenerator[Delivery, None]:
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow())
        async for delivery in self._local.deliveries(workspace_id):
            yield delivery

    async def subscribe(self, workspace_id: str) -> AsyncIterator[TagEventRecord]:
        async for delivery in self.deliveries(workspace_id):
            yield delivery.record

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._local.close()

    def subscriber_count(self, workspace_id: str) -> int:
        return self._local.subscriber_count(workspace_id)
