"""SERVICE.md 1.1 rate limits on a real `required`-mode server: HTTP requests and
WebSocket `subscribe` messages count against one per-principal budget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.graphql_ws import PROTOCOL, WAIT, ws_url
from tests.harness import hs256_token, live_server

SECRET = "rate-limits-live-test-secret-" + "0123456789abcdef" * 4
LIMIT = 5


@pytest.fixture(scope="module")
def limited_url() -> Iterator[str]:
    with live_server(
        TAGS_AUTH_MODE="required", TAGS_JWT_SECRET=SECRET, TAGS_RATE_LIMIT=str(LIMIT)
    ) as url:
        yield url


def bearer(sub: str) -> dict[str, str]:
    return {"authorization": f"Bearer {hs256_token(SECRET, sub, 'tags:read', ['*'])}"}


def check_refusal(error: dict[str, Any]) -> int:
    extensions = error["extensions"]
    assert extensions["code"] == "RATE_LIMITED"
    retry_after = extensions["retryAfter"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 60
    return retry_after


def test_http_requests_over_the_limit_get_429(limited_url: str) -> None:
    with httpx.Client(timeout=WAIT) as http:
        for _ in range(LIMIT):
            answer = http.post(
                limited_url, json={"query": "{ __typename }"}, headers=bearer("http-user")
            )
            assert answer.status_code == 200, answer.text
        refused = http.post(
            limited_url, json={"query": "{ __typename }"}, headers=bearer("http-user")
        )
    assert refused.status_code == 429
    body = refused.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1
    assert check_refusal(body["errors"][0]) == int(refused.headers["retry-after"])


async def test_each_subscribe_message_counts_and_shares_the_http_budget(limited_url: str) -> None:
    headers = bearer("ws-user")
    async with connect(
        ws_url(limited_url), subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=WAIT
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        for n in range(1, LIMIT + 2):
            subscribe = {"id": str(n), "type": "subscribe", "payload": {"query": "{ __typename }"}}
            await socket.send(json.dumps(subscribe))
            first = json.loads(await socket.recv())
            if n <= LIMIT:
                assert first["type"] == "next" and first["id"] == str(n), first
                assert first["payload"]["data"] == {"__typename": "Query"}
                assert json.loads(await socket.recv())["type"] == "complete"
            else:
                assert first["type"] == "error" and first["id"] == str(n), first
                assert len(first["payload"]) == 1
                check_refusal(first["payload"][0])
    async with httpx.AsyncClient(timeout=WAIT) as http:
        refused = await http.post(limited_url, json={"query": "{ __typename }"}, headers=headers)
    assert refused.status_code == 429
