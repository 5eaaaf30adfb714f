"""Opening the store. The only module that imports the async driver.

Motor is in maintenance mode; moving to PyMongo's `AsyncMongoClient` means
changing this module only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.collection import Collection, StoreCall
from storage.outage import Outage
from storage.query_shapes import API_KEYS, LOCKS, TAG_CHANGES, TAGGINGS, TAGS, indexes_of
from storage.unique_claims import ServerQuirks, probe


@dataclass(slots=True)
class Database:
    """The service's collections, plus what lifespan needs to ping and close."""

    client: Any
    db: Any
    embedded: bool
    outage: Outage
    tags: Collection
    taggings: Collection
    api_keys: Collection
    locks: Collection
    tag_changes: Collection
    quirks: ServerQuirks

    async def probe_server(self) -> None:
        """Find what the server does with unique keys on an update (storage/unique_claims.py)."""
        async with StoreCall(self.outage):
            self.quirks.stale_unique_claims = await probe(self.db)

    async def ping(self) -> None:
        async with StoreCall(self.outage):
            await self.db.command("ping")

    def close(self) -> None:
        self.client.close()


def open_database(
    uri: str, name: str, *, timeout_ms: int = 5000, embedded: bool = False
) -> Database:
    """Connect lazily (no I/O here). `embedded`: the server is the one the service runs."""
    from motor.motor_asyncio import AsyncIOMotorClient

    client: Any = AsyncIOMotorClient(
        uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms * 2,
        # A write that times out may still run on the server. A driver retry of
        # it is only safe where the server makes the two attempts one; SecantusDB
        # replays a finished attempt but runs a retry that overlaps a running one
        # again, so a `$inc` lands twice or an insert's retry reports its own
        # documents as duplicates. Without retries the timeout is a store
        # failure, and the recovery journal completes or takes back the step.
        retryWrites=False,
        tz_aware=False,
    )
    db = client[name]
    outage = Outage(timeout_ms / 1000)
    quirks = ServerQuirks()

    def collection(name: str) -> Collection:
        unique = frozenset(f for ix in indexes_of(name) if ix.unique for f in ix.fields)
        return Collection(db[name], outage, unique_fields=unique, quirks=quirks)

    return Database(
        client=client,
        db=db,
        embedded=embedded,
        outage=outage,
        tags=collection(TAGS),
        taggings=collection(TAGGINGS),
        api_keys=collection(API_KEYS),
        locks=collection(LOCKS),
        tag_changes=collection(TAG_CHANGES),
        quirks=quirks,
    )
