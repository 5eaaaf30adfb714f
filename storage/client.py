"""Opening the store. The only module that imports the async driver.

Motor is in maintenance mode; moving to PyMongo's `AsyncMongoClient` means
changing this module only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.collection import Collection, StoreCall
from storage.outage import Outage


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
    return Database(
        client=client,
        db=db,
        embedded=embedded,
        outage=outage,
        tags=Collection(db["tags"], outage),
        taggings=Collection(db["taggings"], outage),
        api_keys=Collection(db["api_keys"], outage),
        locks=Collection(db["locks"], outage),
        tag_changes=Collection(db["tag_changes"], outage),
    )
