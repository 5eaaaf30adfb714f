"""Everything that touches MongoDB."""

from __future__ import annotations

from dataclasses import dataclass

from storage.access import EVERYTHING, AuthorizedWorkspace, Visibility
from storage.api_keys import ApiKeyStore
from storage.client import Database, open_database
from storage.collection import Doc
from storage.errors import DuplicateKey, PartialInsert, StoreError, StoreRefused, StoreUnavailable
from storage.history import HistoryStore
from storage.metering import Meter, current_meter, start_meter
from storage.rate_limits import RateLimits
from storage.recovery import Recovery
from storage.taggings import TaggingStore
from storage.tags import Conflict, TagQuery, TagStore, is_live
from storage.tree_locks import Held, TreeBusy, TreeLocks

__all__ = [
    "EVERYTHING",
    "AuthorizedWorkspace",
    "Conflict",
    "Doc",
    "DuplicateKey",
    "Held",
    "HistoryStore",
    "Meter",
    "PartialInsert",
    "RateLimits",
    "Store",
    "StoreError",
    "StoreRefused",
    "StoreUnavailable",
    "TagQuery",
    "TreeBusy",
    "Visibility",
    "current_meter",
    "is_live",
    "open_store",
    "start_meter",
]


@dataclass(slots=True)
class Store:
    database: Database
    tags: TagStore
    taggings: TaggingStore
    api_keys: ApiKeyStore
    recovery: Recovery
    rate_limits: RateLimits
    tree_locks: TreeLocks
    history: HistoryStore
    # (1.2) TAGS_HISTORY_DAYS: how long history entries are kept; 0 keeps them forever.
    history_days: int = 365

    @property
    def embedded(self) -> bool:
        return self.database.embedded

    async def ensure_indexes(self) -> None:
        await self.database.probe_server()
        await self.tags.ensure_indexes()
        await self.taggings.ensure_indexes()
        await self.api_keys.ensure_indexes()
        await self.history.ensure_indexes(self.history_days)

    async def ping(self) -> None:
        await self.database.ping()

    def close(self) -> None:
        self.rate_limits.close()
        self.database.close()


def open_store(
    uri: str,
    db_name: str,
    *,
    timeout_ms: int = 5000,
    embedded: bool = False,
    history_days: int = 365,
) -> Store:
    database = open_database(uri, db_name, timeout_ms=timeout_ms, embedded=embedded)
    recovery = Recovery()
    return Store(
        database=database,
        tags=TagStore(database.tags),
        taggings=TaggingStore(database.taggings),
        api_keys=ApiKeyStore(database.api_keys),
        recovery=recovery,
        rate_limits=RateLimits(uri, db_name, timeout_ms=timeout_ms),
        tree_locks=TreeLocks(database.locks, recovery),
        history=HistoryStore(database.tag_changes, database.tags),
        history_days=history_days,
    )
