"""Shutdown within the contract's 10 s: requests still running after a grace period are cancelled.

`Draining` is set when the server begins to shut down (see `server.py`).
Event streams end at once (`edge/sse_protocol.py`); requests get
`REQUEST_GRACE_S` to finish, then are cancelled here, so that the lifespan can
close the store and the process exit in time. A cancelled request that has
not answered yet gets a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.http_protocol import dumps, error_body
from resolvers.errors import ErrorCode

log = logging.getLogger("tags")

# Leaves room for closing the store (1-3 s on a busy machine) and exiting within 10 s.
REQUEST_GRACE_S = 4.0
SHUTTING_DOWN = "The server is shutting down; retry the request."


class Draining:
    """Shutdown under way: streams end now, requests are cancelled after `grace` seconds."""

    def __init__(self, grace: float = REQUEST_GRACE_S) -> None:
        self.grace = grace
        self._event = asyncio.Event()
        self._running: set[asyncio.Task[Any]] = set()
        self._cancelled: set[asyncio.Task[Any]] = set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    def set(self) -> None:
        if self._event.is_set():
            return
        self._event.set()
        for task in self._running:
            self._arm(task)

    def _arm(self, task: asyncio.Task[Any]) -> None:
        asyncio.get_running_loop().call_later(self.grace, self._cancel, task)

    def _cancel(self, task: asyncio.Task[Any]) -> None:
        if task in self._running and not task.done():
            self._cancelled.add(task)
            task.cancel()

    @contextlib.contextmanager
    def running(self, task: asyncio.Task[Any]) -> Iterator[None]:
        self._running.add(task)
        if self.is_set():
            self._arm(task)
        try:
            yield
        finally:
            self._running.discard(task)
            self._cancelled.discard(task)

    def cancelled_here(self, task: asyncio.Task[Any]) -> bool:
        return task in self._cancelled


class CancelOnShutdown:
    """Runs each request under the app's `Draining`, which may cancel it (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope.get("app"), "state", None)
        draining: Draining | None = getattr(state, "draining", None)
        task = asyncio.current_task()
        if scope["type"] not in ("http", "websocket") or draining is None or task is None:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        with draining.running(task):
            try:
                await self.app(scope, receive, tracking)
            except asyncio.CancelledError:
                if not draining.cancelled_here(task):
                    raise
                task.uncancel()
                log.warning(
                    "A %s request was still running %.0f s after shutdown began; cancelled it.",
                    scope["type"],
                    draining.grace,
                )
                if scope["type"] == "http":
                    await _end(send, started)


async def _end(send: Send, started: bool) -> None:
    with contextlib.suppress(OSError):
        if started:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body = dumps(error_body(SHUTTING_DOWN, ErrorCode.INTERNAL_SERVER_ERROR.value))
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
