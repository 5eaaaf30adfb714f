"""Per-workspace tree locks: taken, refused while held, renewed, released, taken over."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from storage import Store, TreeBusy
from storage.tree_locks import Taken, _clock, _key
from tests.harness import Executor
from tests.helpers import UPDATE_TAG, WS, create_tag

MOVE_TREE_BUSY = (
    "Other changes to this workspace's tags kept this change waiting too long; "
    "nothing was changed. Try again."
)


async def test_a_held_lock_is_refused_to_others_until_released(store: Store) -> None:
    locks = store.tree_locks
    assert await locks.take("ws-a", "one") is Taken.FREE
    assert await locks.take("ws-a", "two") is Taken.HELD
    # Another workspace's tree is another lock.
    assert await locks.take("ws-b", "two") is Taken.FREE
    await locks.release("ws-a", "two")  # not the holder: changes nothing
    assert await locks.take("ws-a", "two") is Taken.HELD
    await locks.release("ws-a", "one")
    assert await locks.take("ws-a", "two") is Taken.FREE


async def test_renewing_needs_the_holders_token(store: Store) -> None:
    locks = store.tree_locks
    assert await locks.take("ws-a", "one", lease=0.05) is Taken.FREE
    assert not await locks.renew("ws-a", "two")
    assert await locks.renew("ws-a", "one", lease=30)
    await asyncio.sleep(0.1)  # the first lease would have ended by now
    assert await locks.take("ws-a", "two") is Taken.HELD


async def test_a_lease_that_ran_out_is_taken_over(store: Store) -> None:
    locks = store.tree_locks
    assert await locks.take("ws-a", "dead", lease=0.05) is Taken.FREE
    assert await locks.take("ws-a", "next") is Taken.HELD
    await asyncio.sleep(0.1)
    assert await locks.take("ws-a", "next") is Taken.TAKEN_OVER


async def test_hold_waits_its_turn_and_gives_up_at_the_bound(store: Store) -> None:
    locks = store.tree_locks
    assert await locks.take(WS, "elsewhere") is Taken.FREE  # another process holds it
    started = time.monotonic()
    with pytest.raises(TreeBusy):
        async with locks.hold(WS, wait=0.3):
            pytest.fail("ran without the lock")
    assert 0.3 <= time.monotonic() - started < 5
    # Just inside the bound: released while the change still waits.

    async def release_soon() -> None:
        await asyncio.sleep(0.1)
        await locks.release(WS, "elsewhere")

    releasing = asyncio.create_task(release_soon())
    async with locks.hold(WS, wait=5) as held:
        assert await locks.take(WS, "third") is Taken.HELD
    await releasing
    assert not held.lost
    assert await locks.take(WS, "third") is Taken.FREE


async def test_changes_of_one_process_take_turns_in_order(store: Store) -> None:
    order: list[str] = []

    async def change(name: str) -> None:
        async with store.tree_locks.hold(WS):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(*(change(str(i)) for i in range(5)))
    assert order == [f"{i} {step}" for i in range(5) for step in ("in", "out")]


async def test_the_holder_renews_its_lease_while_it_works(store: Store) -> None:
    async with store.tree_locks.hold(WS, lease=0.3) as held:
        await asyncio.sleep(0.6)  # two leases long
        assert await store.tree_locks.take(WS, "other") is Taken.HELD
        assert not held.lost


async def test_a_holder_whose_lock_was_taken_over_may_not_write(store: Store) -> None:
    async with store.tree_locks.hold(WS, lease=0.3) as held:
        await store.database.locks.update_one({"_id": _key(WS)}, {"$set": {"holder": "usurper"}})
        await asyncio.sleep(0.25)  # a renewal finds the lock gone
        assert held.lost
        with pytest.raises(TreeBusy):
            held.ensure()


async def test_a_release_the_store_missed_is_left_to_the_journal(store: Store) -> None:
    store.database.outage.timeout = 0.05
    async with store.tree_locks.hold(WS):
        store.database.outage.begin()
    assert store.recovery.pending == 1
    store.database.outage.end()
    assert await store.recovery.run_pending() == 0
    assert await store.tree_locks.take(WS, "next") is Taken.FREE


# Through the API ---------------------------------------------------------------


async def test_a_move_that_never_gets_its_turn_says_so_and_changes_nothing(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = await create_tag(gql, "Parent")
    tag = await create_tag(gql, "Tag")
    monkeypatch.setattr("storage.tree_locks.WAIT_SECONDS", 0.2)
    assert await store.tree_locks.take(WS, "elsewhere") is Taken.FREE
    result = await gql(UPDATE_TAG, {"input": {"id": tag["id"], "parentId": parent["id"]}})
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    assert [e["message"] for e in result.errors] == [MOVE_TREE_BUSY]
    doc = await store.database.tags.find_one({"_id": tag["id"]})
    assert doc is not None and (doc["parentId"], doc["depth"]) == (None, 0)


async def test_taking_over_from_a_dead_holder_completes_its_half_done_move(
    gql: Executor, store: Store
) -> None:
    a = await create_tag(gql, "A")
    b = await create_tag(gql, "B")
    leaf = await create_tag(gql, "Leaf", parentId=b["id"])
    other = await create_tag(gql, "Other")
    # A holder moved B below A and died before rewriting the leaf's path.
    await store.tree_locks.take(WS, "dead", lease=0.01)
    await store.tags.set_place(b["id"], a["id"], [a["id"]])
    await store.database.locks.update_one(
        {"_id": _key(WS)}, {"$set": {"until": _clock() - timedelta(seconds=1)}}
    )
    result = await gql(UPDATE_TAG, {"input": {"id": other["id"], "parentId": a["id"]}})
    assert result.ok()["updateTag"]["userErrors"] == []
    doc = await store.database.tags.find_one({"_id": leaf["id"]})
    assert doc is not None
    assert (doc["ancestors"], doc["depth"]) == ([a["id"], b["id"]], 2)
