"""A graphql-transport-ws client on a real socket (Python `websockets`), for live servers.

A subscription is registered asynchronously by the server (and, with change
streams, its worker opens the stream on the first subscription), so no event
may be assumed delivered until the subscriber has seen one: `until_live`
sends probe mutations until every subscriber has received one, then drains
the probes, after which every later commit is delivered.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")
LEGACY_PROTOCOL = Subprotocol("graphql-ws")
# A guard against hanging forever, never a measurement: the machine may be busy.
WAIT = 30.0
SUBSCRIBE = "subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind tagId workspaceId at tag { name usageCount } } }"
CREATE = "mutation($ws: ID!, $name: String!) { createTag(input: {workspaceId: $ws, name: $name}) { tag { id } userErrors { code } } }"


def ws_url(http_url: str) -> str:
    return "ws" + http_url.removeprefix("http")


def new_workspace(prefix: str = "ws") -> str:
    """Distinct per test, so tests may share one live server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


async def post(
    http: httpx.AsyncClient, url: str, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        url, json={"query": query, "variables": variables}, headers=bearer(token)
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def create_tag(
    http: httpx.AsyncClient, url: str, workspace: str, name: str, token: str | None = None
) -> str:
    created = (await post(http, url, CREATE, token, ws=workspace, name=name))["createTag"]
    assert created["userErrors"] == [], created
    return str(created["tag"]["id"])


class Subscriber:
    """One socket with one tagEvents subscription (id "1")."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def open(
        cls,
        url: str,
        workspace: str,
        init_payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Subscriber:
        socket = await connect(
            ws_url(url), subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=WAIT
        )
        assert socket.subprotocol == PROTOCOL
        subscriber = cls(socket)
        await subscriber.send({"type": "connection_init", "payload": init_payload or {}})
        ack = await subscriber.receive()
        assert ack["type"] == "connection_ack", ack
        await subscriber.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"ws": workspace}},
            }
        )
        return subscriber

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, within: float = WAIT) -> dict[str, Any]:
        """The next message that is not a ping (answered) or pong."""
        while True:
            raw = await asyncio.wait_for(self.socket.recv(), within)
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
            elif message.get("type") != "pong":
                return message

    async def next_event(self, within: float = WAIT) -> dict[str, Any]:
        message = await self.receive(within)
        assert message["type"] == "next" and message["id"] == "1", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]["tagEvents"]

    async def close(self) -> None:
        await self.socket.close()


async def until_live(
    subscribers: list[Subscriber],
    http: httpx.AsyncClient,
    url: str,
    workspace: str,
    token: str | None = None,
) -> None:
    """Returns once every subscriber receives new events, with every probe event consumed.

    Events arrive in commit order: once a subscriber has seen probe j, it will
    see every later probe, so it is drained up to the last probe sent.
    """
    probes: list[str] = []
    seen: dict[int, str] = {}
    waiting = list(subscribers)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while waiting:
        assert loop.time() < deadline, "a subscription never received an event"
        probes.append(await create_tag(http, url, workspace, f"probe {uuid.uuid4().hex}", token))
        still: list[Subscriber] = []
        for subscriber in waiting:
            try:
                event = await subscriber.next_event(within=0.5)
            except TimeoutError:
                still.append(subscriber)
                continue
            assert event["tagId"] in probes, event
            seen[id(subscriber)] = event["tagId"]
        waiting = still
    for subscriber in subscribers:
        # One that went live on an earlier probe still has the later ones queued.
        while seen[id(subscriber)] != probes[-1]:
            event = await subscriber.next_event()
            assert event["tagId"] in probes, event
            seen[id(subscriber)] = event["tagId"]
