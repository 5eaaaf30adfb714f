"""Updates on a server that keeps a unique key claimed after a document gives it up.

secantusd-rs (0.5.3-beta.193 and .196, the newest when this was written) keeps
a table of who holds each key of a unique index: an insert takes the claims of
the document's keys, a delete gives back the claims of the keys the document
has at that moment, but an update neither takes nor gives back any. So after a
rename from slug `a` to `b`, `a` stays claimed by the renamed tag, for good
(deleting that tag later gives back `b`'s claim, not `a`'s), and a new tag named
`a` is refused as a duplicate. mongod and SecantusDB's Python server keep no
such table and need none of this.

`probe` finds the behaviour (instead of trusting a version number, so a fixed
server stops paying for it). On such a server, an update that changes a field
of a unique index runs in a transaction followed by a re-seat of each document
whose unique keys it changed: the old key values are put back, the document is
deleted (giving back their claims) and inserted again as the update left it
(claiming its new keys). secantusd-rs always runs as a replica set, so the
transaction is there; it makes the four steps one, also across a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pymongo import DeleteMany, UpdateOne
from pymongo.errors import DuplicateKeyError

from storage.metering import current_meter

T = TypeVar("T")
Doc = dict[str, Any]

_PROBE_PREFIX = "_probe_unique_claims_"
# Marks the commands of a re-seat: each repeats the filter of the update it
# follows, or goes by _id, so it has no query shape of its own
# (storage.query_shapes.signatures_of).
RESEAT_COMMENT = "reseat"


@dataclass(slots=True)
class ServerQuirks:
    """What `probe` found about the server; one per database, shared by its collections."""

    stale_unique_claims: bool = False


async def probe(db: Any) -> bool:
    """Whether an update leaves the key it replaced claimed on this server.

    Runs on a scratch collection of its own and drops it afterwards.
    """
    scratch = db[f"{_PROBE_PREFIX}{uuid.uuid4().hex[:12]}"]
    try:
        await scratch.create_index([("k", 1)], unique=True, name="k")
        await scratch.insert_one({"_id": 1, "k": "a"})
        await scratch.update_one({"_id": 1}, {"$set": {"k": "b"}})
        try:
            await scratch.insert_one({"_id": 2, "k": "a"})
        except DuplicateKeyError:
            return True
        return False
    finally:
        await scratch.drop()


def touches(
    update: Mapping[str, Any] | Sequence[Mapping[str, Any]], fields: frozenset[str]
) -> bool:
    """Whether an update (operators, or a pipeline) may change one of `fields`."""
    if not fields:
        return False
    if not isinstance(update, Mapping):
        return True  # a pipeline may set anything
    for operator, arguments in update.items():
        if not isinstance(arguments, Mapping):
            return True
        paths: Iterable[Any] = arguments.keys()
        if operator == "$rename":
            paths = [*arguments.keys(), *arguments.values()]
        if any(str(path).split(".", 1)[0] in fields for path in paths):
            return True
    return False


def _keys(doc: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {f: doc[f] for f in fields if f in doc}


def _put_back(before: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    update: dict[str, Any] = {}
    present = {f: before[f] for f in fields if f in before}
    missing = {f: "" for f in fields if f not in before}
    if present:
        update["$set"] = present
    if missing:
        update["$unset"] = missing
    return update


async def reseated(
    driver_collection: Any,
    fields: frozenset[str],
    filter: Mapping[str, Any],
    write: Callable[[Any], Awaitable[T]],
) -> T:
    """Run `write(session)` (an update of the documents `filter` matches) so that
    no unique key it gives up stays claimed; see the module's docstring."""
    projection = {f: 1 for f in fields}
    result: list[T] = []
    sent = 0

    async def attempt(session: Any) -> None:
        nonlocal sent
        result.clear()
        sent += 2
        before = await driver_collection.find(
            filter, projection, session=session, comment=RESEAT_COMMENT
        ).to_list(None)
        result.append(await write(session))
        if not before:
            return
        ids = [d["_id"] for d in before]
        sent += 1
        after = {
            d["_id"]: d
            for d in await driver_collection.find(
                {"_id": {"$in": ids}}, session=session, comment=RESEAT_COMMENT
            ).to_list(None)
        }
        changed = [
            d
            for d in before
            if d["_id"] in after and _keys(d, fields) != _keys(after[d["_id"]], fields)
        ]
        if not changed:
            return
        moved = [d["_id"] for d in changed]
        steps: list[Any] = [UpdateOne({"_id": d["_id"]}, _put_back(d, fields)) for d in changed]
        steps.append(DeleteMany({"_id": {"$in": moved}}))
        sent += 2
        await driver_collection.bulk_write(
            steps, ordered=True, session=session, comment=RESEAT_COMMENT
        )
        await driver_collection.insert_many(
            [after[i] for i in moved], session=session, comment=RESEAT_COMMENT
        )

    async with await driver_collection.database.client.start_session() as session:
        await session.with_transaction(attempt)
    meter = current_meter()
    if meter is not None:
        # The caller's StoreCall counts one; the rest of the commands and the commit.
        meter.round_trips += sent
    return result[0]
