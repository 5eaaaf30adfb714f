"""tagEvents over graphql-transport-ws on a real `python server.py` and a real socket.

Order, workspace scoping, credentials, freshness. Each server is shared by the
module (a start costs seconds); every test uses workspaces of its own.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.graphql_ws import (
    LEGACY_PROTOCOL,
    PROTOCOL,
    WAIT,
    Subscriber,
    create_tag,
    new_workspace,
    post,
    until_live,
    ws_url,
)
from tests.harness import hs256_token, live_server

SECRET = "subscription-test-secret-of-32-bytes-or-more"
CREATE = "mutation($ws: ID!, $name: String!) { createTag(input: {workspaceId: $ws, name: $name}) { tag { id } } }"
RENAME = (
    "mutation($id: ID!, $name: String!) { updateTag(input: {id: $id, name: $name}) { tag { id } } }"
)
TAG = 'mutation($ws: ID!, $id: ID!) { addTagsToResources(input: {workspaceId: $ws, resources: [{type: "task", id: "1"}], tagIds: [$id]}) { addedCount } }'
DELETE = "mutation($id: ID!) { deleteTag(input: {id: $id}) { deletedTagIds } }"
ARCHIVE = "mutation($ws: ID!, $id: ID!) { archiveTags(input: {workspaceId: $ws, ids: [$id]}) { tags { archived } } }"
RESTORE = "mutation($ws: ID!, $id: ID!) { restoreTags(input: {workspaceId: $ws, ids: [$id]}) { tags { archived } } }"


def token(workspaces: list[str], scope: str = "tags:read tags:write") -> str:
    return hs256_token(SECRET, "user-1", scope, workspaces)


@pytest.fixture(scope="module")
def secured_url() -> Iterator[str]:
    with live_server(TAGS_AUTH_MODE="required", TAGS_JWT_SECRET=SECRET) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=WAIT) as client:
        yield client


async def test_events_arrive_in_commit_order_with_fresh_tags(
    dev_url: str, http: httpx.AsyncClient
) -> None:
    ws = new_workspace()
    subscriber = await Subscriber.open(dev_url, ws)
    await until_live([subscriber], http, dev_url, ws)
    tag_id = (await post(http, dev_url, CREATE, ws=ws, name="First"))["createTag"]["tag"]["id"]
    await post(http, dev_url, RENAME, id=tag_id, name="Second")
    await post(http, dev_url, RENAME, id=tag_id, name="Third")
    await post(http, dev_url, TAG, ws=ws, id=tag_id)
    await post(http, dev_url, DELETE, id=tag_id)
    events = [await subscriber.next_event() for _ in range(5)]
    await subscriber.close()
    assert [e["kind"] for e in events] == [
        "CREATED",
        "UPDATED",
        "UPDATED",
        "USAGE_CHANGED",
        "DELETED",
    ]
    assert {e["tagId"] for e in events} == {tag_id}
    assert {e["workspaceId"] for e in events} == {ws}
    # Each event shows the tag as it is when delivered, never an earlier load.
    names = [e["tag"]["name"] if e["tag"] else None for e in events]
    assert names[0] in ("First", "Second", "Third")
    assert names[2] == "Third" and events[3]["tag"]["usageCount"] == 1
    assert events[4]["tag"] is None
    assert all(e["at"].endswith("Z") for e in events)


async def test_archive_and_restore_reach_subscribers_once_per_change(
    dev_url: str, http: httpx.AsyncClient
) -> None:
    """(1.2) ARCHIVED and RESTORED travel like the other events; a no-op sends none."""
    ws = new_workspace()
    subscriber = await Subscriber.open(dev_url, ws)
    await until_live([subscriber], http, dev_url, ws)
    tag_id = await create_tag(http, dev_url, ws, "Shelved")
    for mutation in (ARCHIVE, ARCHIVE, RESTORE, RESTORE):
        await post(http, dev_url, mutation, ws=ws, id=tag_id)
    await post(http, dev_url, RENAME, id=tag_id, name="Back")
    events = [await subscriber.next_event() for _ in range(4)]
    await subscriber.close()
    assert [e["kind"] for e in events] == ["CREATED", "ARCHIVED", "RESTORED", "UPDATED"]
    assert {e["tagId"] for e in events} == {tag_id}
    assert events[1]["tag"] is not None and events[1]["tag"]["usageCount"] == 0


async def test_only_the_subscribed_workspace(dev_url: str, http: httpx.AsyncClient) -> None:
    mine, theirs = new_workspace("mine"), new_workspace("theirs")
    subscriber = await Subscriber.open(dev_url, mine)
    await until_live([subscriber], http, dev_url, mine)
    await create_tag(http, dev_url, theirs, "Hidden")
    await create_tag(http, dev_url, mine, "Shown")
    event = await subscriber.next_event()
    await subscriber.close()
    assert event["workspaceId"] == mine and event["tag"]["name"] == "Shown"


async def test_every_subscriber_of_a_workspace_gets_every_event(
    dev_url: str, http: httpx.AsyncClient
) -> None:
    ws = new_workspace()
    subscribers = [await Subscriber.open(dev_url, ws) for _ in range(3)]
    await until_live(subscribers, http, dev_url, ws)
    made = [await create_tag(http, dev_url, ws, f"Tag {i}") for i in range(4)]
    for subscriber in subscribers:
        assert [(await subscriber.next_event())["tagId"] for _ in made] == made
        await subscriber.close()


async def test_failed_mutation_publishes_nothing(dev_url: str, http: httpx.AsyncClient) -> None:
    ws = new_workspace()
    subscriber = await Subscriber.open(dev_url, ws)
    await until_live([subscriber], http, dev_url, ws)
    await create_tag(http, dev_url, ws, "Dup")
    duplicate = await post(http, dev_url, CREATE, ws=ws, name="DUP")
    assert duplicate["createTag"]["tag"] is None
    await create_tag(http, dev_url, ws, "After")
    first, second = await subscriber.next_event(), await subscriber.next_event()
    await subscriber.close()
    assert [first["tag"]["name"], second["tag"]["name"]] == ["Dup", "After"]


async def test_legacy_graphql_ws_protocol_is_refused(dev_url: str) -> None:
    async with connect(
        ws_url(dev_url), subprotocols=[LEGACY_PROTOCOL], open_timeout=WAIT
    ) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_credentials_in_connection_init(secured_url: str, http: httpx.AsyncClient) -> None:
    ws = new_workspace()
    allowed = token([ws])
    subscriber = await Subscriber.open(secured_url, ws, {"Authorization": f"Bearer {allowed}"})
    await until_live([subscriber], http, secured_url, ws, allowed)
    await create_tag(http, secured_url, ws, "Seen", allowed)
    assert (await subscriber.next_event())["tag"]["name"] == "Seen"
    await subscriber.close()


async def test_credentials_in_upgrade_headers(secured_url: str, http: httpx.AsyncClient) -> None:
    ws = new_workspace()
    allowed = token([ws])
    subscriber = await Subscriber.open(
        secured_url, ws, headers={"authorization": f"Bearer {allowed}"}
    )
    await until_live([subscriber], http, secured_url, ws, allowed)
    await create_tag(http, secured_url, ws, "Seen", allowed)
    assert (await subscriber.next_event())["tag"]["name"] == "Seen"
    await subscriber.close()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"X-API-Key": "tk_nope"},
        {"Authorization": 42},
    ],
)
async def test_refused_credentials_close_with_4403(
    secured_url: str, payload: dict[str, Any]
) -> None:
    async with connect(ws_url(secured_url), subprotocols=[PROTOCOL], open_timeout=WAIT) as socket:
        subscriber = Subscriber(socket)
        await subscriber.send({"type": "connection_init", "payload": payload})
        with pytest.raises(ConnectionClosed) as closed:
            await subscriber.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_refused_upgrade_header_closes_with_4403(secured_url: str) -> None:
    # Signed with another secret.
    forged = jwt.encode(
        {"sub": "user-1", "exp": int(time.time()) + 600, "scope": "tags:read", "workspaces": ["*"]},
        SECRET.upper(),
        algorithm="HS256",
    )
    headers = {"authorization": f"Bearer {forged}"}
    async with connect(
        ws_url(secured_url), subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=WAIT
    ) as socket:
        subscriber = Subscriber(socket)
        await subscriber.send({"type": "connection_init", "payload": {}})
        with pytest.raises(ConnectionClosed) as closed:
            await subscriber.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_workspace_without_access_is_forbidden(secured_url: str) -> None:
    ws = new_workspace()
    subscriber = await Subscriber.open(
        secured_url, new_workspace("other"), {"Authorization": f"Bearer {token([ws])}"}
    )
    message = await subscriber.receive()
    await subscriber.close()
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
