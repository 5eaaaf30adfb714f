"""Event fan-out on a real server: an event is loaded once, however many subscribe.

The server counts on /metrics the store round trips it made to deliver events
(the shared tag load and whatever each subscriber's selection needed) and the
deliveries; the same events with 1 and with 50 subscribers must cost the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.graphql_ws import WAIT, Subscriber, create_tag, new_workspace, until_live
from tests.harness import live_server

EVENTS = 5


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with live_server() as graphql_url:
        yield graphql_url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=WAIT) as client:
        yield client


async def counters(http: httpx.AsyncClient, url: str) -> dict[str, float]:
    text = (await http.get(url.removesuffix("/graphql") + "/metrics")).text
    wanted = ("tags_event_store_round_trips_total", "tags_event_deliveries_total")
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            found[name] = float(value)
    assert set(found) == set(wanted), text
    return found


async def cost_of_events(http: httpx.AsyncClient, url: str, subscribers: int) -> tuple[int, int]:
    """(store round trips, deliveries) of EVENTS events in a workspace with `subscribers`."""
    workspace = new_workspace("fanout")
    opened = await asyncio.gather(*(Subscriber.open(url, workspace) for _ in range(subscribers)))
    try:
        await until_live(opened, http, url, workspace)
        before = await counters(http, url)
        # The last one is a fence: a subscriber's own store calls for an event are
        # counted when it takes the next one, so every counted event is followed.
        created = [await create_tag(http, url, workspace, f"t{n}") for n in range(EVENTS + 1)]
        for subscriber in opened:
            got = [(await subscriber.next_event())["tagId"] for _ in created]
            assert got == created
        after = await counters(http, url)
    finally:
        await asyncio.gather(*(s.close() for s in opened))
    trips = (
        after["tags_event_store_round_trips_total"] - before["tags_event_store_round_trips_total"]
    )
    deliveries = after["tags_event_deliveries_total"] - before["tags_event_deliveries_total"]
    return int(trips), int(deliveries)


async def test_store_calls_per_event_do_not_grow_with_subscribers(
    url: str, http: httpx.AsyncClient
) -> None:
    one = await cost_of_events(http, url, 1)
    fifty = await cost_of_events(http, url, 50)
    assert one[1] == EVENTS + 1
    assert fifty[1] == 50 * (EVENTS + 1)
    # One shared load per event; the selection (name, usageCount) needs nothing more.
    assert one[0] == EVENTS + 1
    assert fifty[0] == one[0]
