"""A real dev-mode server answers loopback Host names only, over HTTP and WebSocket."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.graphql_ws import PROTOCOL, WAIT

CREATE = (
    'mutation { createTag(input: {workspaceId: "ws-dev-host", name: "Rebound"}) { tag { id } } }'
)
FIND = '{ tagBySlug(workspaceId: "ws-dev-host", slug: "rebound") { id } }'


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def test_http_with_a_foreign_host_is_400_and_runs_nothing(dev_url: str) -> None:
    port = port_of(dev_url)
    with httpx.Client(timeout=WAIT) as http:
        for host in ("rebind.example", f"rebind.example:{port}", f"127.0.0.2:{port}"):
            refused = http.post(dev_url, json={"query": CREATE}, headers={"host": host})
            assert refused.status_code == 400, (host, refused.text)
        for host in (f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
            answer = http.post(dev_url, json={"query": FIND}, headers={"host": host})
            assert answer.status_code == 200, (host, answer.text)
            assert answer.json()["data"] == {"tagBySlug": None}


async def test_websocket_with_a_foreign_host_is_400(dev_url: str) -> None:
    port = port_of(dev_url)
    foreign = f"ws://rebind.example:{port}/graphql"
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            foreign,
            subprotocols=[PROTOCOL],
            host="127.0.0.1",
            port=port,
            proxy=None,
            open_timeout=WAIT,
        )
    assert refused.value.response.status_code == 400
    loopback = f"ws://localhost:{port}/graphql"
    async with connect(
        loopback,
        subprotocols=[PROTOCOL],
        host="127.0.0.1",
        port=port,
        proxy=None,
        open_timeout=WAIT,
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
