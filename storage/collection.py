"""The one boundary between the service and the driver.

Every command a request sends to the store runs inside a `StoreCall`: it waits
out an injected outage (storage/outage.py), is counted as one round trip (for
`extensions.cost`), timed, and the driver's errors are translated into
`storage.errors` here and nowhere else: a store that does not answer is
`StoreUnavailable`, a command the server refuses is `StoreRefused`, and a
unique index's refusal is `DuplicateKey` / `PartialInsert`. `Collection` runs
each of its methods in one; `Database.ping` runs its command in one.

Three things talk to the server without it, none of them a request's round
trip: the change stream that follows the events collection and the `hello`
probe that decides whether change streams exist (storage/events.py), and the
embedded server's liveness check (storage/embedded.py, a synchronous client).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bson.errors import BSONError
from pymongo import DeleteMany, ReturnDocument, UpdateMany, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from storage.errors import DuplicateKey, PartialInsert, StoreRefused, StoreUnavailable
from storage.metering import current_meter
from storage.outage import Outage
from storage.unique_claims import ServerQuirks, reseated, touches

if TYPE_CHECKING:
    from storage.query_shapes import Index

Doc = dict[str, Any]
Filter = Mapping[str, Any]
Sort = Sequence[tuple[str, int]]
# One statement of a bulk write: ("update_one" or "update_many", filter, update),
# or ("delete_many", filter, None).
BulkOp = tuple[str, Filter, Mapping[str, Any] | None]

# IndexOptionsConflict, IndexKeySpecsConflict: an index of that name exists.
_INDEX_CONFLICT_CODES = frozenset({85, 86})

_INDEX_IN_MESSAGE = re.compile(r"index: (\S+) dup key")

# Server error codes that mean "not now" rather than "no": the node is shutting
# down, stepping down, not primary, or a network hop failed or timed out
# (the driver retries writes on the same set). Everything else the server says
# is a refusal of the command itself.
UNAVAILABLE_CODES = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        50,  # MaxTimeMSExpired
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        134,  # ReadConcernMajorityNotAvailableYet
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10058,  # LegacyNotPrimary
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)


def _duplicate_fields(details: Mapping[str, Any] | None, message: str) -> tuple[str, ...]:
    pattern = (details or {}).get("keyPattern")
    if isinstance(pattern, Mapping):
        return tuple(pattern)
    # Some servers only name the index in the message; our index names list their fields.
    match = _INDEX_IN_MESSAGE.search(message)
    return tuple(match.group(1).split("__")) if match else ()


def _unavailable(exc: PyMongoError) -> bool:
    if isinstance(exc, ConnectionFailure) or exc.timeout:
        # Connection refused or reset, no server selectable in time, not primary,
        # a socket or wait-queue timeout, an operation or write-concern timeout.
        return True
    return isinstance(exc, OperationFailure) and exc.code in UNAVAILABLE_CODES


def refused(exc: OperationFailure) -> StoreRefused:
    details = exc.details or {}
    message = details.get("errmsg") or str(exc)
    return StoreRefused(type(exc).__name__, exc.code, str(message))


def translate(exc: BaseException, docs: int = 0, ordered: bool = True) -> BaseException:
    """The `storage.errors` exception for a driver exception; others are returned as they are."""
    if isinstance(exc, DuplicateKeyError):
        return DuplicateKey(_duplicate_fields(exc.details, str(exc)))
    if isinstance(exc, BulkWriteError):
        return _partial_insert(exc, docs, ordered)
    if isinstance(exc, PyMongoError):
        if _unavailable(exc):
            return StoreUnavailable(type(exc).__name__)
        if isinstance(exc, OperationFailure):
            return refused(exc)
        # InvalidOperation, ConfigurationError, InvalidName...: the service asked
        # something the driver cannot send, which no retry will fix.
        return StoreRefused(type(exc).__name__, None, str(exc))
    if isinstance(exc, BSONError):
        # A document or value BSON cannot encode (too large, a NUL in a key...).
        return StoreRefused(type(exc).__name__, None, str(exc))
    return exc


def _partial_insert(exc: BulkWriteError, count: int, ordered: bool) -> Exception:
    errors = exc.details.get("writeErrors", [])
    dups = [
        DuplicateKey(_duplicate_fields(e, e.get("errmsg", "")), e.get("index"))
        for e in errors
        if e.get("code") == 11000
    ]
    if len(dups) != len(errors):
        other = next(e for e in errors if e.get("code") != 11000)
        code = other.get("code")
        if code in UNAVAILABLE_CODES:
            return StoreUnavailable("BulkWriteError")
        return StoreRefused("BulkWriteError", code, str(other.get("errmsg", "")))
    if not errors and exc.details.get("writeConcernErrors"):
        # Written on the primary, not acknowledged by enough members in time.
        return StoreUnavailable("WriteConcernError")
    failed = {d.index for d in dups if d.index is not None}
    # An ordered insert stops at its first failure: nothing after it was written.
    stop = min(failed) if ordered and failed else count
    return PartialInsert([i for i in range(stop) if i not in failed], dups)


class StoreCall:
    """One store call: waits out an injected outage, then counts the call, times it
    and translates driver errors. Every call the service sends is wrapped in one."""

    __slots__ = ("_docs", "_ordered", "_outage", "_start")

    def __init__(self, outage: Outage, docs: int = 0, ordered: bool = True) -> None:
        self._outage = outage
        self._docs = docs
        self._ordered = ordered

    async def __aenter__(self) -> None:
        # Before the clock starts: a call that never reached the store is not a round trip.
        if self._outage.active:
            await self._outage.block()
        self._start = time.perf_counter()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        meter = current_meter()
        if meter is not None:
            meter.round_trips += 1
            meter.store_seconds += time.perf_counter() - self._start
        if exc is None:
            return
        translated = translate(exc, self._docs, self._ordered)
        if translated is exc:
            return
        if isinstance(translated, DuplicateKey | PartialInsert):
            raise translated from None
        # Chained: the log of an internal error shows the driver's own exception too.
        raise translated from exc


class Collection:
    """A metered, translated view of one driver collection."""

    __slots__ = ("_c", "_outage", "_quirks", "_unique_fields", "name")

    def __init__(
        self,
        driver_collection: Any,
        outage: Outage,
        *,
        unique_fields: frozenset[str] = frozenset(),
        quirks: ServerQuirks | None = None,
    ) -> None:
        self._c = driver_collection
        self._outage = outage
        # The fields of this collection's unique indexes, and what the server
        # does with their keys on an update (storage/unique_claims.py).
        self._unique_fields = unique_fields
        self._quirks = quirks or ServerQuirks()
        self.name: str = driver_collection.name

    def _call(self, docs: int = 0, ordered: bool = True) -> StoreCall:
        return StoreCall(self._outage, docs, ordered)

    def _reseats(self, *updates: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> bool:
        return self._quirks.stale_unique_claims and any(
            touches(u, self._unique_fields) for u in updates
        )

    async def find(
        self,
        filter: Filter,
        *,
        projection: Mapping[str, Any] | None = None,
        sort: Sort | None = None,
        limit: int = 0,
    ) -> list[Doc]:
        cursor = self._c.find(filter, projection)
        if sort:
            cursor = cursor.sort(list(sort))
        if limit:
            cursor = cursor.limit(limit)
        async with self._call():
            return await cursor.to_list(None)

    async def find_one(
        self, filter: Filter, *, projection: Mapping[str, Any] | None = None
    ) -> Doc | None:
        async with self._call():
            return await self._c.find_one(filter, projection)

    async def count(self, filter: Filter) -> int:
        # The `count` command, not count_documents' $match + $group: SecantusDB's
        # Rust server runs an unsorted aggregate by trying the candidate plans
        # (35 ms for 1 000 tags, 3 ms as a count). With a query it is exact on
        # a replica set or a standalone; it is never sent inside a transaction.
        async with self._call():
            reply = await self._c.database.command("count", self.name, query=dict(filter))
            return int(reply["n"])

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Doc]:
        async with self._call():
            return await self._c.aggregate(list(pipeline)).to_list(None)

    async def insert_one(self, doc: Doc) -> None:
        async with self._call():
            await self._c.insert_one(doc)

    async def insert_many(self, docs: Sequence[Doc], *, ordered: bool = True) -> None:
        """Insert documents; on duplicates raise `PartialInsert` naming what was written."""
        if not docs:
            return
        async with self._call(len(docs), ordered):
            await self._c.insert_many(list(docs), ordered=ordered)

    async def update_one(
        self, filter: Filter, update: Mapping[str, Any], *, upsert: bool = False
    ) -> int:
        """Returns how many documents matched (0 or 1); an upsert that inserted counts 1."""
        async with self._call():
            if self._reseats(update):
                result = await reseated(
                    self._c,
                    self._unique_fields,
                    filter,
                    lambda s: self._c.update_one(filter, update, upsert=upsert, session=s),
                )
            else:
                result = await self._c.update_one(filter, update, upsert=upsert)
        return int(result.matched_count) + (1 if result.upserted_id is not None else 0)

    async def find_one_and_update(
        self,
        filter: Filter,
        update: Mapping[str, Any],
        *,
        projection: Mapping[str, Any] | None = None,
        upsert: bool = False,
        return_before: bool = False,
    ) -> Doc | None:
        """Applies the update and returns the document as it is afterwards (or, with
        `return_before`, as it was: None when an upsert inserted it)."""
        returned = ReturnDocument.BEFORE if return_before else ReturnDocument.AFTER
        async with self._call():
            if self._reseats(update):
                return await reseated(
                    self._c,
                    self._unique_fields,
                    filter,
                    lambda s: self._c.find_one_and_update(
                        filter,
                        update,
                        projection=projection,
                        upsert=upsert,
                        return_document=returned,
                        session=s,
                    ),
                )
            return await self._c.find_one_and_update(
                filter, update, projection=projection, upsert=upsert, return_document=returned
            )

    async def find_one_and_delete(self, filter: Filter) -> Doc | None:
        async with self._call():
            return await self._c.find_one_and_delete(filter)

    async def update_many(
        self, filter: Filter, update: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> int:
        """`update`: operators, or an aggregation pipeline (a list of stages)."""
        async with self._call():
            if self._reseats(update):
                result = await reseated(
                    self._c,
                    self._unique_fields,
                    filter,
                    lambda s: self._c.update_many(filter, update, session=s),
                )
            else:
                result = await self._c.update_many(filter, update)
        return int(result.modified_count)

    async def delete_many(self, filter: Filter) -> int:
        async with self._call():
            return int((await self._c.delete_many(filter)).deleted_count)

    async def bulk_write(self, ops: Sequence[BulkOp], *, ordered: bool = True) -> tuple[int, int]:
        """Many statements in one command; returns (documents modified, documents deleted).

        The server reports totals only, never per statement.
        """
        if not ops:
            return 0, 0
        requests: list[Any] = []
        for kind, filter, update in ops:
            if kind == "update_one" and update is not None:
                requests.append(UpdateOne(filter, update))
            elif kind == "update_many" and update is not None:
                requests.append(UpdateMany(filter, update))
            elif kind == "delete_many":
                requests.append(DeleteMany(filter))
            else:
                raise ValueError(f"unknown bulk statement {kind!r}")
        async with self._call():
            updates = [update for kind, _, update in ops if kind != "delete_many" and update]
            if self._reseats(*updates):
                changing = {"$or": [dict(f) for kind, f, _ in ops if kind != "delete_many"]}
                result = await reseated(
                    self._c,
                    self._unique_fields,
                    changing,
                    lambda s: self._c.bulk_write(requests, ordered=ordered, session=s),
                )
            else:
                result = await self._c.bulk_write(requests, ordered=ordered)
        return int(result.modified_count), int(result.deleted_count)

    async def ensure_index(self, index: Index) -> None:
        """Build one of storage.query_shapes' indexes, unless it exists."""
        await self._create_index(list(index.keys), index.driver_options)

    async def drop_index_if_exists(self, name: str) -> bool:
        """Drop an index no shape uses any more; False when there is none by that name."""
        async with self._call():
            if name not in await self._c.index_information():
                return False
            await self._c.drop_index(name)
        return True

    async def ensure_ttl_index(self, field: str, expire_after_seconds: int) -> None:
        """An index on `field` whose documents the server deletes after this many seconds."""
        await self._create_index(
            [(field, 1)], {"name": field, "expireAfterSeconds": expire_after_seconds}
        )

    async def _create_index(self, keys: list[tuple[str, int]], options: dict[str, Any]) -> None:
        async with self._call():
            try:
                await self._c.create_index(keys, **options)
            except OperationFailure as exc:
                if exc.code not in _INDEX_CONFLICT_CODES or not await self._has_index(
                    keys, options
                ):
                    raise

    async def _has_index(self, keys: list[tuple[str, int]], options: Mapping[str, Any]) -> bool:
        # SecantusDB's Python server compares an index's whole stored spec, and the
        # Rust server stores one more field in it (`numberKeys`): an index the
        # Rust server built is then "a different index with the same name" to the
        # Python one. The same keys and options are the same index.
        existing = (await self._c.index_information()).get(options["name"])
        if existing is None:
            return False
        return [(f, int(d)) for f, d in existing["key"]] == keys and all(
            existing.get(option, False) == options.get(option, False)
            for option in ("unique", "partialFilterExpression", "expireAfterSeconds")
        )

    async def ttl_of(self, name: str) -> int | None:
        """The `expireAfterSeconds` of the index `name`; None when there is no such index."""
        async with self._call():
            indexes = await self._c.index_information()
        found = indexes.get(name)
        return None if found is None else found.get("expireAfterSeconds")

    async def set_ttl_index(self, name: str, field: str, seconds: int | None) -> None:
        """Make the TTL index `name` on `field` expire after `seconds`; None drops it.

        An index that exists with another expiry is changed in place (`collMod`),
        not rebuilt, so a changed setting takes effect without an index build.
        """
        current = await self.ttl_of(name)
        if seconds is None:
            if current is not None:
                async with self._call():
                    await self._c.drop_index(name)
            return
        if current is None:
            async with self._call():
                await self._c.create_index([(field, 1)], name=name, expireAfterSeconds=seconds)
        elif current != seconds:
            async with self._call():
                await self._c.database.command(
                    "collMod", self.name, index={"name": name, "expireAfterSeconds": seconds}
                )
