"""The recovery journal: work a store failure interrupted, completed once the store is back.

`Recovery` holds fix-ups registered by operations that a store failure
interrupted between two steps, and writes that must still happen after a
mutation committed (its events). Each fix-up is idempotent; they run in order
once the store answers again, so the data ends as repair would leave it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from storage.errors import StoreUnavailable
from storage.tree_locks import TreeBusy

log = logging.getLogger("tags.recovery")

FixUp = Callable[[], Awaitable[None]]


class CounterGuard:
    """Keeps a recount of usage counters apart from requests moving the same counters.

    A request writes associations first and moves the counters after; a recount
    that reads the associations in between, and sets the counters before the
    request's `$inc` lands, leaves them off by what the request wrote. So a
    request's write-then-count section (`writing`) and a recount (`recounting`)
    of the same tags exclude each other. A waiting recount holds back new
    sections on its tags, so steady traffic cannot postpone it forever. This
    covers one process; requests of other workers are not seen.
    """

    def __init__(self) -> None:
        self._writing: Counter[str] = Counter()
        self._recounting: set[str] = set()
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def writing(self, tag_ids: Iterable[str]) -> AsyncIterator[None]:
        ids = set(tag_ids)
        async with self._changed:
            await self._changed.wait_for(lambda: not ids & self._recounting)
            self._writing.update(ids)
        try:
            yield
        finally:
            async with self._changed:
                self._writing.subtract(ids)
                self._writing += Counter()  # drops the zeros
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def recounting(self, tag_ids: Iterable[str]) -> AsyncIterator[None]:
        ids = set(tag_ids)
        async with self._changed:
            await self._changed.wait_for(lambda: not ids & self._recounting)
            self._recounting |= ids
            await self._changed.wait_for(lambda: not any(self._writing[t] for t in ids))
        try:
            yield
        finally:
            async with self._changed:
                self._recounting -= ids
                self._changed.notify_all()


class Recovery:
    def __init__(self) -> None:
        self._pending: list[tuple[str, FixUp]] = []
        self._lock = asyncio.Lock()
        self.counters = CounterGuard()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def register(self, label: str, fix: FixUp) -> None:
        log.warning("%s was cut short; it will be completed once the store answers", label)
        self._pending.append((label, fix))

    async def run_pending(self) -> int:
        """Run fix-ups in order until the store stops answering; returns how many are left."""
        async with self._lock:
            while self._pending:
                label, fix = self._pending[0]
                try:
                    await fix()
                except (StoreUnavailable, TreeBusy):
                    # Not now: the store is away, or a tree fix-up waited its turn
                    # too long behind live changes. The journal tries again later.
                    break
                except Exception:
                    # A refused command (or a bug) fails the same way every time:
                    # retrying would block every fix-up behind it forever, and an
                    # escaping exception would end the task that runs the journal.
                    self._pending.pop(0)
                    log.exception(
                        "gave up completing %s (`tags-admin repair` restores consistent data)",
                        label,
                    )
                    continue
                self._pending.pop(0)
                log.info("completed %s after the store came back", label)
            return len(self._pending)
