"""GraphQL over Server-Sent Events, in the protocol's "distinct connections" mode.

A POST to /graphql with `Accept: text/event-stream` gets one event stream for
one operation: every result is an `event: next` whose data is the execution
result, then `event: complete`, then the response ends. Subscriptions stream
until the client closes the connection; queries and mutations send one `next`.

Request problems that the GraphQL-over-HTTP rules answer before any GraphQL
document is looked at (credentials, body, content type) keep their HTTP status
and JSON body, like any POST. Everything after that (parse and validation
errors, FORBIDDEN...) travels in the accepted stream as a `next` with `errors`:
the protocol asks for this because an event-stream client cannot read the body
of a 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from edge.http_protocol import GraphQLRequest, accept_entries, dumps, error_body, result_body
from i18n import DEFAULT_LANGUAGE, translate
from resolvers.context import Context
from resolvers.errors import ErrorCode
from schema import TagsSchema
from schema.extensions.error_codes import GENERIC_MESSAGE, with_codes

log = logging.getLogger("tags.sse")

EVENT_STREAM = "text/event-stream"
# Proxies drop connections that stay silent; a comment line keeps them open.
KEEP_ALIVE_SECONDS = 15.0
HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "connection": "keep-alive",
    # nginx would otherwise buffer the stream and deliver events late.
    "x-accel-buffering": "no",
}
COMMENT = b":\n\n"
COMPLETE = b"event: complete\ndata:\n\n"
STREAMED_OPERATIONS = (OperationType.QUERY, OperationType.MUTATION, OperationType.SUBSCRIPTION)

_JSON_TYPES = ("application/json", "application/graphql-response+json", "application/*", "*/*")


def wants_event_stream(accept: str | None) -> bool:
    """True when Accept prefers text/event-stream to every JSON type it lists."""
    stream_quality = 0.0
    json_quality = 0.0
    for media, quality in accept_entries(accept or ""):
        if media == EVENT_STREAM:
            stream_quality = max(stream_quality, quality)
        elif media in _JSON_TYPES:
            json_quality = max(json_quality, quality)
    return stream_quality > 0 and stream_quality >= json_quality


def next_event(body: Mapping[str, Any]) -> bytes:
    # orjson never emits a newline, so the result fits on one `data:` line.
    return b"event: next\ndata: " + dumps(body) + b"\n\n"


def outcome_of(body: Mapping[str, Any]) -> str:
    if "errors" not in body:
        return "ok"
    return "error" if "data" in body else "rejected"


async def operation_results(
    schema: TagsSchema, request: GraphQLRequest, context: Context
) -> AsyncIterator[dict[str, Any]]:
    """The response bodies of one operation of any type: one, or one per event."""
    results = await schema.stream(
        request.query,
        variable_values=request.variables,
        context_value=context,
        operation_name=request.operation_name,
        allowed_operation_types=STREAMED_OPERATIONS,
    )
    async with contextlib.aclosing(results):
        try:
            async for result in results:
                if not isinstance(result, ExecutionResult):
                    # Incremental delivery frames; the schema does not enable @defer/@stream.
                    yield dict(result.formatted)
                    continue
                if result.errors:
                    # Streamed results skip the hook that stamps codes on executed ones.
                    result.errors = with_codes(result.errors, context)
                yield result_body(result)
        except GraphQLError as error:
            # Raised by a parse hook (the parser cache, the token limit): a
            # document refused before execution, as the JSON path answers it.
            yield {"errors": [e.formatted for e in with_codes([error], context)]}


async def event_stream(
    bodies: AsyncIterator[Mapping[str, Any]],
    *,
    keep_alive: float = KEEP_ALIVE_SECONDS,
    on_outcome: Callable[[str], None] | None = None,
    request_id: str = "",
    language: str = DEFAULT_LANGUAGE,
) -> AsyncGenerator[bytes, None]:
    """The protocol's frames for `bodies`, with a comment whenever nothing came for a while."""
    # Sent at once: some clients and proxies only report a stream open on its first bytes.
    yield COMMENT
    pending: asyncio.Task[Mapping[str, Any] | None] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next_or_none(bodies))
            done, _ = await asyncio.wait({pending}, timeout=keep_alive)
            if not done:
                yield COMMENT
                continue
            body, pending = pending.result(), None
            if body is None:
                break
            if on_outcome is not None:
                on_outcome(outcome_of(body))
            yield next_event(body)
    except Exception:
        log.exception("event stream failed (request %s)", request_id)
        failure = error_body(
            translate(GENERIC_MESSAGE, language), ErrorCode.INTERNAL_SERVER_ERROR.value
        )
        failure["errors"][0]["extensions"]["requestId"] = request_id
        if on_outcome is not None:
            on_outcome("error")
        yield next_event(failure)
    finally:
        # The operation may be waiting for its next event: stop it here, so a
        # subscription leaves the bus as soon as its client is gone.
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.wait({pending})
        await _aclose(bodies)
    yield COMPLETE


async def _next_or_none(bodies: AsyncIterator[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    try:
        return await anext(bodies)
    except StopAsyncIteration:
        return None


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


class EventStreamResponse(Response):
    """Streams `frames`, and stops them as soon as the client disconnects.

    Watching for the disconnect (rather than waiting for a write to fail) frees
    a subscription at once, even when its workspace is quiet. When the server
    shuts down (the app's `state.draining` is set) the stream ends at once with
    `complete`: a subscription would otherwise hold the shutdown for its whole
    grace period.
    """

    def __init__(self, frames: AsyncGenerator[bytes, None]) -> None:
        self.frames = frames
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)
        self._started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.ensure_future(self._stream(send))
        watching = asyncio.ensure_future(_disconnected(receive))
        waiters: set[asyncio.Future[Any]] = {streaming, watching}
        draining: asyncio.Event | None = getattr(
            getattr(scope.get("app"), "state", None), "draining", None
        )
        if draining is not None:
            waiters.add(asyncio.ensure_future(draining.wait()))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.wait(waiters)
        shutting_down = not (done & {streaming, watching})
        failure = None if streaming.cancelled() else streaming.exception()
        # An OSError is a server that reports the disconnect on write (ASGI 2.4).
        if failure is not None and not isinstance(failure, OSError):
            raise failure
        if shutting_down and self._started:
            await send({"type": "http.response.body", "body": COMPLETE, "more_body": False})

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        self._started = True
        async with contextlib.aclosing(self.frames) as frames:
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
