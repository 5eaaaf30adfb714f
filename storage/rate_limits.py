"""Rate-limit counters in the store, through the `limits` library.

The counters live in the service's own database (collection `rate_limits`),
so every worker and every instance on the same store shares them. `limits`'
MongoDB storage opens its own Motor client; that import stays here, in
storage/, like every other driver import.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

log = logging.getLogger("tags.rate_limits")

COUNTERS = "rate_limits"
# Unused by the fixed window, but `limits` creates its TTL index on start.
WINDOWS = "rate_limit_windows"


class RateLimits:
    """Per-key counts in fixed one-minute windows, each starting at its key's first hit.

    The fixed window costs one store call per allowed request (an atomic
    find-and-modify), where a moving window rewrites an array as long as the
    limit on every hit. A client can at most double its rate at a window edge.
    """

    def __init__(self, uri: str, database: str, *, timeout_ms: int = 5000) -> None:
        self._uri = uri
        self._database = database
        self._timeout_ms = timeout_ms
        self._storage: Any = None
        self._limiter: Any = None
        self._items: dict[int, Any] = {}

    def _open(self) -> Any:
        # Created on first use: a service in dev mode never opens the extra client.
        if self._limiter is None:
            from limits.aio.storage import MongoDBStorage
            from limits.aio.strategies import FixedWindowRateLimiter

            self._storage = MongoDBStorage(
                self._uri,
                database_name=self._database,
                counter_collection_name=COUNTERS,
                window_collection_name=WINDOWS,
                wrap_exceptions=True,
                serverSelectionTimeoutMS=self._timeout_ms,
                connectTimeoutMS=self._timeout_ms,
                socketTimeoutMS=self._timeout_ms * 2,
            )
            self._limiter = FixedWindowRateLimiter(self._storage)
        return self._limiter

    def _item(self, per_minute: int) -> Any:
        item = self._items.get(per_minute)
        if item is None:
            from limits import RateLimitItemPerMinute

            item = self._items[per_minute] = RateLimitItemPerMinute(per_minute, namespace="tags")
        return item

    async def hit(self, key: str, per_minute: int) -> int | None:
        """Counts one request for `key`: None when allowed, else the whole seconds to wait.

        An unreachable store lets the request through (it fails on its own
        store calls, or succeeds once the store is back): the limiter must not
        turn a store blip into refusals.
        """
        from limits.errors import StorageError

        limiter = self._open()
        item = self._item(per_minute)
        try:
            try:
                allowed = await limiter.hit(item, key)
            except TypeError:
                # Two first hits of one window race on the counter's upsert: the
                # loser's find-and-modify may answer no document (seen on
                # SecantusDB), which `limits` then subscripts, although its
                # increment was applied. Counting again would count it twice, so
                # the stored count decides.
                allowed = await self._storage.get(item.key_for(key)) <= per_minute
            if allowed:
                return None
            stats = await limiter.get_window_stats(item, key)
        except StorageError as exc:
            log.warning("Rate limit not checked, the store did not answer: %s", exc)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    def close(self) -> None:
        if self._storage is not None:
            self._storage.storage.close()
