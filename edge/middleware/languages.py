"""ASGI middleware: the request's language, from Accept-Language, and Content-Language.

The language is negotiated once per HTTP request or WebSocket handshake and
kept in the scope's state; everything that writes a human-readable message
for that request (the GraphQL endpoint, the body limit, a subscription's
socket or event stream) translates into it. Every HTTP response, and the
WebSocket handshake's, says which language that was.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n import accept_language_of, negotiate

STATE_KEY = "language"


def language_of(scope: Scope) -> str:
    """The request's language: the one this middleware chose, else negotiated now."""
    chosen = scope.get("state", {}).get(STATE_KEY)
    if isinstance(chosen, str):
        return chosen
    return negotiate(accept_language_of(scope.get("headers", [])))


class Languages:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        language = negotiate(accept_language_of(scope["headers"]))
        scope.setdefault("state", {})[STATE_KEY] = language
        tag = language.encode()

        async def send_with_language(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-language" not in names:
                    headers.append((b"content-language", tag))
                if message["type"] == "http.response.start":
                    # The same URL answers in other words for another Accept-Language.
                    headers = _vary_on_accept_language(headers)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_language)


def _vary_on_accept_language(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for i, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            listed = {v.strip().lower() for v in value.split(b",")}
            if b"accept-language" in listed or b"*" in listed:
                return headers
            headers[i] = (name, value + b", Accept-Language")
            return headers
    return [*headers, (b"vary", b"Accept-Language")]
