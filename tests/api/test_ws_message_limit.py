"""WebSocket messages share the 1 MiB request limit, on a real server."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from edge.graphql_ws import MAX_MESSAGE, MESSAGE_TOO_BIG
from tests.graphql_ws import PROTOCOL, WAIT, ws_url


def ping_of_size(size: int) -> str:
    """A graphql-transport-ws ping whose UTF-8 encoding is exactly `size` bytes."""
    empty = json.dumps({"type": "ping", "payload": {"pad": ""}})
    message = json.dumps({"type": "ping", "payload": {"pad": "x" * (size - len(empty))}})
    assert len(message.encode()) == size
    return message


async def test_a_websocket_message_of_exactly_1_mib_is_answered(dev_url: str) -> None:
    async with connect(
        ws_url(dev_url), subprotocols=[PROTOCOL], open_timeout=WAIT, max_size=None
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(ping_of_size(MAX_MESSAGE))
        assert json.loads(await socket.recv())["type"] == "pong"


async def test_a_websocket_message_one_byte_over_closes_with_1009(dev_url: str) -> None:
    async with connect(
        ws_url(dev_url), subprotocols=[PROTOCOL], open_timeout=WAIT, max_size=None
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(ping_of_size(MAX_MESSAGE + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == MESSAGE_TOO_BIG
