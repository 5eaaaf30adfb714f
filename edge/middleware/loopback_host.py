"""ASGI middleware for `dev` mode: only loopback Host names are answered.

`dev` mode grants every scope to anyone who can reach the service, which its
loopback-only listen address limits to this machine. A web page on a domain
that resolves to 127.0.0.1 (DNS rebinding) would still reach it from the
user's browser, but its requests carry that domain as Host: refusing every
Host other than `localhost`, `127.0.0.1` and `[::1]` (with any port) before
anything runs shuts that door, for HTTP and WebSocket alike.
"""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.http_protocol import dumps, error_body
from edge.middleware.languages import language_of
from i18n import N_, translate
from resolvers.errors import ErrorCode

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_HOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?", re.IGNORECASE)
MESSAGE = N_("In dev mode only localhost, 127.0.0.1 and [::1] are answered as Host.")


def is_loopback_host(host: str | None) -> bool:
    """True for a Host header naming a loopback name, with or without a port."""
    return host is not None and _HOST.fullmatch(host) is not None


class LoopbackHostOnly:
    """Refuses with 400 any request or WebSocket upgrade whose Host is not loopback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"host")
        if is_loopback_host(raw.decode("latin-1") if raw is not None else None):
            await self.app(scope, receive, send)
            return
        response = Response(
            dumps(
                error_body(translate(MESSAGE, language_of(scope)), ErrorCode.BAD_USER_INPUT.value)
            ),
            status_code=400,
            media_type="application/json",
        )
        if scope["type"] == "http" or "websocket.http.response" in scope.get("extensions", {}):
            # For a WebSocket, Starlette sends it as the ASGI denial response: a real 400.
            await response(scope, receive, send)
        else:
            # A server without that extension can only refuse the upgrade (403).
            await send({"type": "websocket.close", "code": 1008})
