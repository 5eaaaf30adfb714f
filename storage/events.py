"""Tag events carried between workers and instances by MongoDB change streams.

Publishing inserts the events into the `events` collection; every process
follows that collection's inserts with one change stream and hands them to its
own subscribers. The oplog orders the inserts, so every process sees events in
commit order. Change streams need a replica set (or a sharded cluster): the
embedded store is a one-node replica set; a standalone server uses the
in-process bus instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from bson import ObjectId
from pymongo.errors import PyMongoError

from storage.client import Database
from storage.collection import Collection, Doc
from storage.errors import PartialInsert

log = logging.getLogger("tags.events")

# Events are only needed while subscribers catch up; the TTL index drops them.
EVENT_TTL_SECONDS = 3600
APPEND_BATCH = 1000


class EventLog(Protocol):
    async def append(self, docs: Sequence[Doc]) -> None: ...

    def follow(self) -> AsyncIterator[Doc]: ...


async def supports_change_streams(database: Database) -> bool:
    """Replica set members and mongos routers have change streams; others do not."""
    try:
        hello = await database.db.command("hello")
    except PyMongoError:
        return False
    return bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"


class MongoEventLog:
    def __init__(self, database: Database) -> None:
        # Appends are store calls like any other: metered, timed, errors translated.
        self._events = Collection(database.db["events"], database.outage)
        # A change stream is a long-lived cursor, not a request's round trip.
        self._stream = database.db["events"]
        self._resume: Any = None

    async def ensure_indexes(self) -> None:
        await self._events.ensure_ttl_index("createdAt", EVENT_TTL_SECONDS)

    async def append(self, docs: Sequence[Doc]) -> None:
        """Insert the events in order. Each doc is stamped with its `_id` (in place)
        on the first attempt, so appending the same docs again records each event once."""
        created = datetime.now(UTC).replace(tzinfo=None)
        for doc in docs:
            doc.setdefault("_id", ObjectId())
            doc.setdefault("createdAt", created)
        # An import publishes up to 10 000 events: a call of at most APPEND_BATCH
        # each stays well within the store timeout.
        for start in range(0, len(docs), APPEND_BATCH):
            pending = list(docs[start : start + APPEND_BATCH])
            while pending:
                try:
                    await self._events.insert_many(pending, ordered=True)
                    break
                except PartialInsert as partial:
                    # An earlier attempt was written but its answer was lost. An ordered
                    # insert stops at the first duplicate: send what follows it again.
                    seen = [d.index for d in partial.duplicates if d.index is not None]
                    if not seen:
                        raise
                    pending = pending[min(seen) + 1 :]

    async def follow(self) -> AsyncIterator[Doc]:
        """Every inserted event, resuming after the last one seen when the stream breaks."""
        pipeline = [{"$match": {"operationType": "insert"}}]
        while True:
            try:
                async with self._stream.watch(pipeline, resume_after=self._resume) as stream:
                    async for change in stream:
                        self._resume = change["_id"]
                        yield change["fullDocument"]
            except PyMongoError as exc:
                log.warning("event stream interrupted (%s); resuming", type(exc).__name__)
                await asyncio.sleep(1)
