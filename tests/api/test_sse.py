"""Subscriptions (and any operation) over Server-Sent Events, against real servers.

The GraphQL over SSE protocol in its "distinct connections" mode: POST
/graphql with `Accept: text/event-stream`. Driven with plain HTTP streaming
(httpx) and with the `graphql-sse` npm package's own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from config.settings import Settings
from edge.sse_protocol import COMMENT, COMPLETE, event_stream, wants_event_stream
from server import create_app
from tests.harness import (
    NODE_ABSENT,
    drop_database,
    fresh_db_name,
    hs256_token,
    live_server,
    store_uri,
)

SECRET = "sse-test-secret-of-at-least-32-bytes!"
STREAM = {"accept": "text/event-stream"}
SUBSCRIBE = (
    "subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind tagId workspaceId tag { name } } }"
)
CREATE = "mutation($ws: ID!, $name: String!) { createTag(input: {workspaceId: $ws, name: $name}) { tag { id } } }"
RENAME = (
    "mutation($id: ID!, $name: String!) { updateTag(input: {id: $id, name: $name}) { tag { id } } }"
)
DELETE = "mutation($id: ID!) { deleteTag(input: {id: $id}) { deletedTagIds } }"
# Generous: the machine may be busy; these are deadlines, never measurements.
WAIT = 60.0


def token(workspaces: list[str], scope: str = "tags:read tags:write") -> str:
    return hs256_token(SECRET, "sse-user", scope, workspaces)


def bearer(workspaces: list[str]) -> dict[str, str]:
    return {"authorization": f"Bearer {token(workspaces)}"}


@pytest.fixture(scope="module")
def secured_url() -> Iterator[str]:
    with live_server(
        TAGS_AUTH_MODE="required", TAGS_JWT_SECRET=SECRET, TAGS_CORS_ORIGINS="https://app.example"
    ) as url:
        yield url


class Stream:
    """One SSE response read in the background: its events land in a queue."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.comments = 0
        self.ended = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        name = "message"
        data: list[str] = []
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if data or name != "message":
                        text = "\n".join(data)
                        await self.events.put((name, json.loads(text) if text else None))
                    name, data = "message", []
                elif line.startswith(":"):
                    self.comments += 1
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
        finally:
            self.ended.set()

    async def next(self, within: float = WAIT) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), within)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def sse(
    url: str, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> AsyncIterator[Stream]:
    timeout = httpx.Timeout(WAIT, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream(
            "POST",
            url,
            json={"query": query, "variables": variables},
            headers={**STREAM, **(headers or {})},
        ) as response,
    ):
        stream = Stream(response)
        try:
            yield stream
        finally:
            await stream.close()


async def post(
    url: str, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=WAIT) as client:
        response = await client.post(
            url, json={"query": query, "variables": variables}, headers=headers or {}
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def until_live(
    url: str, stream: Stream, workspace: str, headers: dict[str, str] | None = None
) -> None:
    """Creates probe tags until the stream delivers one: the subscription is then live."""
    for attempt in range(60):
        await post(url, CREATE, headers, ws=workspace, name=f"probe {attempt}")
        with contextlib.suppress(TimeoutError):
            event, data = await stream.next(within=1.0)
            assert event == "next", (event, data)
            assert data["data"]["tagEvents"]["tag"]["name"].startswith("probe"), data
            return
    raise AssertionError("the subscription never delivered an event")


async def events_of(stream: Stream, tag_id: str, last_kind: str) -> list[dict[str, Any]]:
    """The events about one tag, up to the first of `last_kind` (probes are skipped)."""
    seen = []
    while True:
        event, data = await stream.next()
        assert event == "next", (event, data)
        payload = data["data"]["tagEvents"]
        if payload["tagId"] == tag_id:
            seen.append(payload)
            if payload["kind"] == last_kind:
                return seen


async def test_created_updated_deleted_arrive_in_order(dev_url: str) -> None:
    async with sse(dev_url, SUBSCRIBE, ws="sse-order") as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.response.headers["cache-control"] == "no-cache"
        assert stream.response.headers["x-accel-buffering"] == "no"
        assert stream.response.headers["connection"] == "keep-alive"
        await until_live(dev_url, stream, "sse-order")
        created = await post(dev_url, CREATE, ws="sse-order", name="Subject")
        tag_id = created["createTag"]["tag"]["id"]
        await post(dev_url, RENAME, id=tag_id, name="Renamed")
        await post(dev_url, DELETE, id=tag_id)
        events = await events_of(stream, tag_id, "DELETED")
    assert [e["kind"] for e in events] == ["CREATED", "UPDATED", "DELETED"]
    assert {e["workspaceId"] for e in events} == {"sse-order"}
    assert events[1]["tag"]["name"] == "Renamed" and events[2]["tag"] is None


async def test_only_the_subscribed_workspace(dev_url: str) -> None:
    async with (
        sse(dev_url, SUBSCRIBE, ws="sse-mine") as mine,
        sse(dev_url, SUBSCRIBE, ws="sse-theirs") as theirs,
    ):
        await until_live(dev_url, mine, "sse-mine")
        await until_live(dev_url, theirs, "sse-theirs")
        hidden = await post(dev_url, CREATE, ws="sse-theirs", name="Hidden")
        shown = await post(dev_url, CREATE, ws="sse-mine", name="Shown")
        shown_id = shown["createTag"]["tag"]["id"]
        # Everything `mine` receives up to "Shown" is from its own workspace.
        while True:
            event, data = await mine.next()
            assert event == "next", data
            payload = data["data"]["tagEvents"]
            assert payload["workspaceId"] == "sse-mine", payload
            assert payload["tagId"] != hidden["createTag"]["tag"]["id"]
            if payload["tagId"] == shown_id:
                break
        # `theirs` did get its own event, so "Hidden" really was published.
        hidden_events = await events_of(theirs, hidden["createTag"]["tag"]["id"], "CREATED")
        assert hidden_events[0]["tag"]["name"] == "Hidden"


async def test_query_gives_one_next_then_complete(dev_url: str) -> None:
    await post(dev_url, CREATE, ws="sse-query", name="Listed")
    query = "query($ws: ID!) { tags(workspaceId: $ws) { totalCount nodes { name } } }"
    async with sse(dev_url, query, ws="sse-query") as stream:
        first = await stream.next()
        second = await stream.next()
        await asyncio.wait_for(stream.ended.wait(), WAIT)
    assert first[0] == "next"
    assert first[1]["data"]["tags"] == {"totalCount": 1, "nodes": [{"name": "Listed"}]}
    assert second == ("complete", None)
    assert stream.events.empty()


async def test_mutation_over_sse(dev_url: str) -> None:
    async with sse(dev_url, CREATE, ws="sse-mutation", name="Streamed") as stream:
        event, data = await stream.next()
        assert await stream.next() == ("complete", None)
    assert event == "next" and data["data"]["createTag"]["tag"]["id"]


async def test_validation_errors_are_a_next_event(dev_url: str) -> None:
    async with sse(dev_url, "subscription { tagEvents(workspaceId: 1) { nope } }") as stream:
        assert stream.response.status_code == 200
        event, data = await stream.next()
        assert await stream.next() == ("complete", None)
    assert event == "next" and "data" not in data
    assert data["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    async with sse(dev_url, "subscription { tagEvents(") as stream:
        event, data = await stream.next()
        assert await stream.next() == ("complete", None)
    assert data["errors"][0]["message"].startswith("Syntax Error")
    assert data["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unusable_requests_keep_their_http_status(dev_url: str) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as client:
        wrong_type = await client.post(
            dev_url, content=b"query", headers={**STREAM, "content-type": "text/plain"}
        )
        too_large = await client.post(
            dev_url,
            content=b'{"query": "' + b" " * (1024 * 1024 + 1) + b'{ __typename }"}',
            headers={**STREAM, "content-type": "application/json"},
        )
    assert wrong_type.status_code == 415
    assert too_large.status_code == 413


async def test_required_mode_without_credentials_is_401(secured_url: str) -> None:
    async with sse(secured_url, SUBSCRIBE, ws="w1") as stream:
        await asyncio.wait_for(stream.ended.wait(), WAIT)
        status = stream.response.status_code
        headers = stream.response.headers
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert headers["content-type"].startswith("application/json")
    async with sse(secured_url, SUBSCRIBE, {"authorization": "Bearer nope"}, ws="w1") as stream:
        await asyncio.wait_for(stream.ended.wait(), WAIT)
    assert stream.response.status_code == 401


async def test_required_mode_foreign_workspace_is_forbidden(secured_url: str) -> None:
    async with sse(secured_url, SUBSCRIBE, bearer(["w1"]), ws="other") as stream:
        event, data = await stream.next()
        assert await stream.next() == ("complete", None)
    assert event == "next"
    assert data["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert data["data"] is None


async def test_required_mode_events_with_credentials(secured_url: str) -> None:
    headers = {**bearer(["sse-w1"]), "origin": "https://app.example"}
    async with sse(secured_url, SUBSCRIBE, headers, ws="sse-w1") as stream:
        # The CORS middleware still applies to the stream.
        assert stream.response.headers["access-control-allow-origin"] == "https://app.example"
        await until_live(secured_url, stream, "sse-w1", bearer(["sse-w1"]))
        created = await post(secured_url, CREATE, bearer(["sse-w1"]), ws="sse-w1", name="Seen")
        tag_id = created["createTag"]["tag"]["id"]
        events = await events_of(stream, tag_id, "CREATED")
    assert events[0]["tag"]["name"] == "Seen"


@contextlib.asynccontextmanager
async def in_process_server() -> AsyncIterator[tuple[str, Any]]:
    """A real uvicorn server in this event loop, so the test can see its event bus."""
    settings = Settings(mongodb_uri=store_uri(), mongodb_db=fresh_db_name())
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # A bounded drain: a stream the service failed to end must fail the test, not hang it.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not serving.done(), "the server stopped"
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql", app.state.bus
    finally:
        server.should_exit = True
        await serving
        sock.close()
        drop_database(settings.mongodb_db)


async def wait_for_count(bus: Any, workspace: str, expected: int) -> None:
    deadline = time.monotonic() + WAIT
    while bus.subscriber_count(workspace) != expected:
        assert time.monotonic() < deadline, (bus.subscriber_count(workspace), expected)
        await asyncio.sleep(0.02)


async def test_disconnect_frees_the_subscription() -> None:
    async with in_process_server() as (url, bus):
        async with sse(url, SUBSCRIBE, ws="sse-gone") as stream:
            await until_live(url, stream, "sse-gone")
            assert bus.subscriber_count("sse-gone") == 1
        # No event is published after the client left: the disconnect alone ends it.
        await wait_for_count(bus, "sse-gone", 0)
        # A second subscription behaves the same, so nothing was left half-closed.
        async with sse(url, SUBSCRIBE, ws="sse-gone") as stream:
            await until_live(url, stream, "sse-gone")
            assert bus.subscriber_count("sse-gone") == 1
        await wait_for_count(bus, "sse-gone", 0)


async def test_keep_alive_comment_while_nothing_happens() -> None:
    released = asyncio.Event()

    async def quiet() -> AsyncIterator[dict[str, Any]]:
        await released.wait()
        yield {"data": {"n": 1}}

    frames = []
    async for frame in event_stream(quiet(), keep_alive=0.01):
        frames.append(frame)
        # Let the operation answer only once a keep-alive has been sent while waiting.
        if len(frames) == 2:
            released.set()
    assert frames[0] == COMMENT and frames[1] == COMMENT
    assert frames[-2:] == [b'event: next\ndata: {"data":{"n":1}}\n\n', COMPLETE]
    assert all(f == COMMENT for f in frames[:-2])


async def test_closing_the_frames_closes_the_operation() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                await asyncio.sleep(3600)
                yield {}
        finally:
            closed.set()

    frames = event_stream(endless(), keep_alive=3600)
    assert await anext(frames) == COMMENT
    reading = asyncio.ensure_future(anext(frames))
    await asyncio.sleep(0)
    reading.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reading
    assert closed.is_set()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/event-stream", True),
        ("text/event-stream, application/json", True),
        ("application/json, text/event-stream;q=0.5", False),
        ("application/json", False),
        ("*/*", False),
        (None, False),
        ("text/event-stream;q=0", False),
    ],
)
def test_which_accept_headers_choose_the_event_stream(accept: str, expected: bool) -> None:
    assert wants_event_stream(accept) is expected


@pytest.mark.skipif(NODE_ABSENT, reason="node/npm absent")
def test_graphql_sse_client(node_clients: Path) -> None:
    with live_server() as url:
        done = subprocess.run(
            ["node", "sse_client.mjs", url, "sse-node"],
            cwd=node_clients,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["kinds"] == ["CREATED", "UPDATED", "DELETED"]
    # An event shows the tag as it is when delivered, so CREATED may already carry the new name.
    assert out["names"][0] in ("From graphql-sse", "Renamed by graphql-sse")
    assert out["names"][1:] == ["Renamed by graphql-sse", None]
    assert out["query"] == [{"tags": {"nodes": [{"name": "Kept"}]}}]
