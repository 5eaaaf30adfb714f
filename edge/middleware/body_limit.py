"""ASGI middleware: request bodies over 1 MiB are refused with 413 before they are buffered."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.limits import MAX_REQUEST_BODY_BYTES
from edge.http_protocol import dumps, error_body
from edge.middleware.languages import language_of
from i18n import N_, translate
from resolvers.errors import ErrorCode

TOO_LARGE = N_("The request body is larger than 1 MiB.")


class BodyLimit:
    """Refuses request bodies over the limit with 413 before they are buffered."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = Response(
        dumps(error_body(translate(TOO_LARGE, language_of(scope)), ErrorCode.BAD_USER_INPUT.value)),
        status_code=413,
        media_type="application/json",
    )
    await response(scope, receive, send)
