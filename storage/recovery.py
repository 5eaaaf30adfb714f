"""The recovery journal: work a store failure interrupted, completed once the store is back.

`Recovery` holds fix-ups registered by operations that a store failure
interrupted between two steps, and writes that must still happen after a
mutation committed (its events). Each fix-up is idempotent; they run in order
once the store answers again, so the data ends as repair would leave it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from storage.errors import StoreUnavailable
from storage.tree_locks import TreeBusy

log = logging.getLogger("tags.recovery")

FixUp = Callable[[], Awaitable[None]]


class Recovery:
    def __init__(self) -> None:
        self._pending: list[tuple[str, FixUp]] = []
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def register(self, label: str, fix: FixUp) -> None:
        log.warning(
            "store failure interrupted %s; it will be completed when the store is back", label
        )
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
