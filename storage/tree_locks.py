"""Per-workspace tree locks: changes to one workspace's tag tree take turns.

Moving, deleting and merging tags, and creating tags below a parent, decide
from the tree as it is (no cycle, depth at most 4, the paths of a subtree) and
then write several documents. Without transactions, two such changes could
each decide from the tree before the other's writes and together break it
(issue 11: a tag 6 levels deep, negative depths). So each one holds its
workspace's lock document while it reads, decides and writes:

    _id      "tree:" + workspace id
    holder   the token of the change holding it; null when free
    until    when its lease ends (free: the epoch); the holder renews it while it works

Taking the lock is one conditional write: "set holder and lease where the
lease has ended", upserted, so a lock nobody holds is taken and one held makes
the store refuse the upsert with a duplicate `_id`. A lease that ran out means
its holder died mid-change (a crashed process): the next change takes the lock
over and first completes what was left (its `on_takeover`). Reads never wait for it,
and the lock is never needed for correctness by anything but tree changes.

A holder renews its lease every `LEASE_SECONDS / 3` from a background task, so a
lease only runs out when its process is gone or stalled; changes also make
their decisive writes conditional on the state they decided from
(`TagStore.update`'s `expected`), which catches a holder whose lock was taken
over after such a stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from storage.collection import Collection
from storage.errors import DuplicateKey, StoreError

if TYPE_CHECKING:
    from storage.recovery import Recovery

LEASE_SECONDS = 30.0
# A change waits this long for its turn before it is refused with TreeBusy.
WAIT_SECONDS = 10.0
FIRST_BACKOFF = 0.002
MAX_BACKOFF = 0.05
FREE = datetime(1970, 1, 1)

TakeoverFix = Callable[[], Awaitable[None]]


class TreeBusy(Exception):
    """Other changes held the workspace's tree longer than a change may wait, or a
    holder lost its lock; nothing was changed, and trying again is safe."""


class Taken(enum.Enum):
    FREE = "free"
    TAKEN_OVER = "taken over"
    HELD = "held"


def _clock() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _key(workspace: str) -> str:
    return f"tree:{workspace}"


class Held:
    """A held tree lock; `lost` turns true if renewing its lease failed."""

    def __init__(
        self, locks: TreeLocks, workspace: str, token: str, on_takeover: TakeoverFix | None
    ) -> None:
        self.locks = locks
        self.workspace = workspace
        self.token = token
        self.on_takeover = on_takeover
        self.lost = False

    def ensure(self) -> None:
        """Called before a decisive write: a holder that lost its lock must not write."""
        if self.lost:
            raise TreeBusy(f"the tree lock of {self.workspace} was lost")

    def fix_up(self, fix: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`fix` run while holding this workspace's lock again (with this token, if the
        lock is still ours): a fix-up must not interleave with other tree changes."""

        async def locked() -> None:
            async with self.locks.hold(
                self.workspace, token=self.token, on_takeover=self.on_takeover
            ):
                await fix()

        return locked


class TreeLocks:
    def __init__(self, locks: Collection, recovery: Recovery) -> None:
        self._locks = locks
        self._recovery = recovery
        # Changes in this process queue here first, so that only the head of the
        # queue polls the store: a crowd of pollers would slow the holder down.
        self._queues: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}

    async def take(self, workspace: str, token: str, lease: float = LEASE_SECONDS) -> Taken:
        now = _clock()
        try:
            before = await self._locks.find_one_and_update(
                {"_id": _key(workspace), "until": {"$lt": now}},
                {"$set": {"holder": token, "until": now + timedelta(seconds=lease)}},
                upsert=True,
                return_before=True,
            )
        except DuplicateKey:
            return Taken.HELD
        if before is not None and before.get("holder") is not None:
            return Taken.TAKEN_OVER
        return Taken.FREE

    async def renew(self, workspace: str, token: str, lease: float = LEASE_SECONDS) -> bool:
        until = _clock() + timedelta(seconds=lease)
        matched = await self._locks.update_one(
            {"_id": _key(workspace), "holder": token}, {"$set": {"until": until}}
        )
        return matched > 0

    async def release(self, workspace: str, token: str) -> None:
        await self._locks.update_one(
            {"_id": _key(workspace), "holder": token}, {"$set": {"holder": None, "until": FREE}}
        )

    async def _acquire(
        self,
        workspace: str,
        token: str,
        deadline: float,
        lease: float,
        on_takeover: TakeoverFix | None,
    ) -> None:
        backoff = FIRST_BACKOFF
        while True:
            taken = await self.take(workspace, token, lease)
            if taken is Taken.TAKEN_OVER and on_takeover is not None:
                await on_takeover()
            if taken is not Taken.HELD:
                return
            if time.monotonic() >= deadline:
                raise TreeBusy(f"the tree of {workspace} stayed busy too long")
            # Jittered, so that waiters do not poll in step.
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, MAX_BACKOFF)

    @contextlib.asynccontextmanager
    async def hold(
        self,
        workspace: str,
        *,
        token: str | None = None,
        on_takeover: TakeoverFix | None = None,
        wait: float | None = None,
        lease: float = LEASE_SECONDS,
    ) -> AsyncIterator[Held]:
        """Hold the workspace's tree lock for the block; TreeBusy after `wait` seconds
        (`WAIT_SECONDS` by default).

        `on_takeover` completes what a dead holder left before the block runs.
        With the `token` of an earlier holder (a journal fix-up), a lock still held
        under that token is simply renewed. A release the store did not answer is
        left to the recovery journal (and to the lease, if the process dies).
        """
        deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
        if token is not None and await self.renew(workspace, token, lease):
            # Still ours (a fix-up of a change whose release the store missed): the
            # head of this process's queue is only polling for it, so no queueing.
            async with self._held(workspace, token, on_takeover, deadline, lease) as held:
                yield held
            return
        async with (
            self._queue(workspace, deadline),
            self._held(workspace, None, on_takeover, deadline, lease, token) as held,
        ):
            yield held

    @contextlib.asynccontextmanager
    async def _queue(self, workspace: str, deadline: float) -> AsyncIterator[None]:
        queue = self._queues.setdefault(workspace, asyncio.Lock())
        self._queued[workspace] = self._queued.get(workspace, 0) + 1
        try:
            try:
                await asyncio.wait_for(queue.acquire(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise TreeBusy(f"the tree of {workspace} stayed busy too long") from None
            try:
                yield
            finally:
                queue.release()
        finally:
            self._queued[workspace] -= 1
            if not self._queued[workspace]:
                del self._queued[workspace], self._queues[workspace]

    @contextlib.asynccontextmanager
    async def _held(
        self,
        workspace: str,
        token: str | None,
        on_takeover: TakeoverFix | None,
        deadline: float,
        lease: float,
        new_token: str | None = None,
    ) -> AsyncIterator[Held]:
        """The lock held for the block: already held under `token`, else taken
        (under `new_token`, or a fresh one)."""
        if token is None:
            token = new_token or secrets.token_hex(12)
            await self._acquire(workspace, token, deadline, lease, on_takeover)
        held = Held(self, workspace, token, on_takeover)

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(lease / 3)
                try:
                    if not await self.renew(workspace, held.token, lease):
                        held.lost = True
                        return
                except StoreError:
                    continue  # the next renewal may get through before the lease ends

        renewing = asyncio.create_task(keep_alive())
        try:
            yield held
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await self.release(workspace, held.token)
            except StoreError:

                async def release_later() -> None:
                    await self.release(workspace, held.token)

                self._recovery.register("releasing a tree lock", release_later)
