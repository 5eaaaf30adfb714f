"""Subscriptions end when their credentials do, on a real `required`-mode server.

A JWT ends at `exp` plus the 60 s leeway (when a new request with it is
refused); an API key within TAGS_CREDENTIAL_RECHECK_S of its revocation (set to
1 s here, 30 s by default). A WebSocket is then closed with 4403; an SSE stream
sends a `next` with an UNAUTHENTICATED error, then `complete`. The tokens here
are minted with `exp` in the past but inside the leeway, so they end seconds
after the test starts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from cli.tags_admin import create_key
from edge.authentication import LEEWAY_SECONDS
from edge.graphql_ws import FORBIDDEN
from resolvers.clock import now
from storage import open_store
from tests.graphql_ws import SUBSCRIBE, WAIT, Subscriber, new_workspace, until_live
from tests.harness import fresh_db_name, hs256_token, live_server, store_uri

SECRET = "credentials-end-test-secret-" + "0123456789abcdef" * 4
# Long enough for the subscription to be registered before it ends, on a busy machine too.
LIFETIME = 8.0


@pytest.fixture(scope="module")
def database() -> str:
    return fresh_db_name("tags_live")


@pytest.fixture(scope="module")
def secured_url(database: str) -> Iterator[str]:
    with live_server(
        TAGS_AUTH_MODE="required",
        TAGS_JWT_SECRET=SECRET,
        TAGS_CREDENTIAL_RECHECK_S="1",
        TAGS_RATE_LIMIT="0",
        TAGS_MONGODB_DB=database,
    ) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=WAIT) as client:
        yield client


def lasting_token(workspace: str) -> str:
    return hs256_token(SECRET, "prober", "tags:read tags:write", [workspace])


def ending_token(workspace: str) -> tuple[str, float]:
    """A token accepted now that stops being accepted in LIFETIME seconds, and that moment."""
    exp = int(time.time() + LIFETIME) - LEEWAY_SECONDS
    claims = {"sub": "ending", "exp": exp, "scope": "tags:read", "workspaces": [workspace]}
    return jwt.encode(claims, SECRET, algorithm="HS256"), float(exp + LEEWAY_SECONDS)


async def close_code(subscriber: Subscriber) -> int:
    """Reads until the server closes the socket; the code it closed with."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await subscriber.receive(within=WAIT + LIFETIME)
    assert closed.value.rcvd is not None, "the client, not the server, closed the socket"
    return closed.value.rcvd.code


async def test_a_websocket_closes_with_4403_when_its_token_expires(
    secured_url: str, http: httpx.AsyncClient
) -> None:
    ws = new_workspace()
    token, ends_at = ending_token(ws)
    ending = await Subscriber.open(secured_url, ws, {"Authorization": f"Bearer {token}"})
    lasting = await Subscriber.open(
        secured_url, ws, {"Authorization": f"Bearer {lasting_token(ws)}"}
    )
    assert await close_code(ending) == FORBIDDEN
    # Never before the token ends (the server and this test share one clock).
    assert time.time() >= ends_at - 0.01
    # A token with time left keeps its subscription.
    await until_live([lasting], http, secured_url, ws, lasting_token(ws))
    await lasting.close()


def key_id(key: str) -> str:
    match = re.fullmatch(r"tk_([0-9a-f]{16})_.+", key)
    assert match is not None
    return match.group(1)


async def test_a_websocket_closes_with_4403_when_its_api_key_is_revoked(
    secured_url: str, database: str, http: httpx.AsyncClient
) -> None:
    ws = new_workspace()
    store = open_store(store_uri(), database)
    try:
        revoked_key = await create_key(store, "revoked", ["tags:read"], [ws])
        kept_key = await create_key(store, "kept", ["tags:read"], [ws])
        revoked = await Subscriber.open(secured_url, ws, {"X-API-Key": revoked_key})
        kept = await Subscriber.open(secured_url, ws, {"X-API-Key": kept_key})
        prober = lasting_token(ws)
        await until_live([revoked, kept], http, secured_url, ws, prober)
        assert await store.api_keys.revoke(key_id(revoked_key), now())
        assert await close_code(revoked) == FORBIDDEN
        await until_live([kept], http, secured_url, ws, prober)
        await kept.close()
    finally:
        store.close()


async def sse_messages(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) of each SSE message; comments skipped."""
    event, data = "", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = line.removeprefix("data:").strip()
        elif line == "" and event:
            yield event, json.loads(data) if data else None
            event, data = "", ""


async def test_an_sse_stream_ends_with_unauthenticated_when_its_token_expires(
    secured_url: str, http: httpx.AsyncClient
) -> None:
    ws = new_workspace()
    token, ends_at = ending_token(ws)
    messages: list[tuple[str, Any]] = []
    async with http.stream(
        "POST",
        secured_url,
        json={"query": SUBSCRIBE, "variables": {"ws": ws}},
        headers={"accept": "text/event-stream", "authorization": f"Bearer {token}"},
        timeout=WAIT + LIFETIME,
    ) as response:
        assert response.status_code == 200
        async for message in sse_messages(response):
            messages.append(message)
    assert time.time() >= ends_at - 0.01
    assert [event for event, _ in messages] == ["next", "complete"]
    final = messages[0][1]
    assert "data" not in final
    assert [e["extensions"]["code"] for e in final["errors"]] == ["UNAUTHENTICATED"]


async def test_an_sse_stream_ends_when_its_api_key_is_revoked(
    secured_url: str, database: str, http: httpx.AsyncClient
) -> None:
    ws = new_workspace()
    store = open_store(store_uri(), database)
    try:
        key = await create_key(store, "sse-revoked", ["tags:read"], [ws])
        messages: list[tuple[str, Any]] = []
        async with http.stream(
            "POST",
            secured_url,
            json={"query": SUBSCRIBE, "variables": {"ws": ws}},
            headers={"accept": "text/event-stream", "x-api-key": key},
        ) as response:
            assert response.status_code == 200
            assert await store.api_keys.revoke(key_id(key), now())
            async for message in sse_messages(response):
                messages.append(message)
    finally:
        store.close()
    assert [event for event, _ in messages] == ["next", "complete"]
    assert messages[0][1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
