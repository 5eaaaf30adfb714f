"""Rate-limit counters through `limits`' MongoDB storage, on the suite's real store.

Two `RateLimits` on one database stand for two workers (or two instances):
they have nothing in common but the store, so the count they share is the
store's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from storage import RateLimits, Store
from tests.harness import open_test_store, store_uri


@pytest.fixture
async def two_workers() -> AsyncIterator[tuple[RateLimits, RateLimits]]:
    store: Store
    async with open_test_store() as store:
        other = RateLimits(store_uri(), store.database.db.name)
        try:
            yield store.rate_limits, other
        finally:
            other.close()


async def test_the_limit_is_counted_across_workers(
    two_workers: tuple[RateLimits, RateLimits],
) -> None:
    first, second = two_workers
    allowed = [await (first if i % 2 else second).hit("sub:alice", 4) for i in range(4)]
    assert allowed == [None] * 4  # the fourth stays just inside
    retry_after = await first.hit("sub:alice", 4)
    assert retry_after is not None and 1 <= retry_after <= 60
    again = await second.hit("sub:alice", 4)
    assert again is not None and 1 <= again <= 60


async def test_each_principal_has_its_own_count(
    two_workers: tuple[RateLimits, RateLimits],
) -> None:
    first, second = two_workers
    assert await first.hit("sub:alice", 1) is None
    assert await first.hit("sub:alice", 1) is not None
    assert await second.hit("sub:bob", 1) is None
    # A key id and a JWT subject that happen to be spelled alike are two principals.
    assert await second.hit("key:alice", 1) is None


async def test_counters_live_in_the_service_database() -> None:
    async with open_test_store() as store:
        await store.rate_limits.hit("sub:carol", 10)
        names = await store.database.db.list_collection_names()
        assert "rate_limits" in names


async def test_concurrent_first_hits_of_a_window_are_all_counted(
    two_workers: tuple[RateLimits, RateLimits],
) -> None:
    # The first hits of a window race on the counter's upsert; a lost race must
    # neither fail the request nor go uncounted.
    first, second = two_workers
    hits = [(first if i % 2 else second).hit("sub:dave", 40) for i in range(40)]
    assert await asyncio.gather(*hits) == [None] * 40
    assert await first.hit("sub:dave", 40) is not None
