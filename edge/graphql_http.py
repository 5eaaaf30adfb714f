"""GraphQL over HTTP: the /graphql GET and POST endpoint (JSON or an SSE stream), and GraphiQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from config.settings import Settings
from edge.authentication import Authenticator, Credentials, Unauthenticated
from edge.graphiql import graphiql_page
from edge.http_protocol import (
    GRAPHQL_RESPONSE,
    JSON,
    GraphQLRequest,
    RequestError,
    choose_media_type,
    dumps,
    error_body,
    parse_body,
    parse_params,
    result_body,
    status_for,
)
from edge.middleware.languages import language_of
from edge.rate_limiting import RateLimit
from edge.sse_protocol import (
    EventStreamResponse,
    event_stream,
    operation_results,
    wants_event_stream,
)
from i18n import N_, translate
from observability.logs import log_request
from resolvers.context import Context, make_context
from resolvers.errors import ErrorCode
from schema import TagsSchema
from storage import Store, start_meter

SUBSCRIPTIONS_ELSEWHERE = N_(
    "Subscriptions are served over a WebSocket (graphql-transport-ws) or over Server-Sent "
    "Events (POST with Accept: text/event-stream)."
)
QUERIES_ONLY_OVER_GET = N_("Only queries can be sent with GET; use POST.")


class GraphQLEndpoint:
    def __init__(self, schema: TagsSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.authenticator = Authenticator.configure(
            auth_mode=settings.auth_mode,
            jwt_secret=settings.jwt_secret,
            jwt_public_key=settings.jwt_public_key,
            jwt_audience=settings.jwt_audience,
            jwt_issuer=settings.jwt_issuer,
            recheck_seconds=settings.credential_recheck_s,
        )
        self.rate_limit = RateLimit.configure(
            auth_mode=settings.auth_mode, rate_limit=settings.rate_limit
        )
        self.graphiql_html = (
            graphiql_page(get_graphql_ide_html("graphiql")) if settings.graphiql else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        started = time.perf_counter()
        response = await self.handle(request)
        await response(scope, receive, send)
        self.observe(request, response, time.perf_counter() - started)

    def observe(self, request: Request, response: Response, seconds: float) -> None:
        context = getattr(request.state, "context", None)
        outcome = getattr(request.state, "outcome", None) or _outcome_of_status(
            response.status_code
        )
        operation = context.operation_name if context else None
        trips = context.meter.round_trips if context else 0
        store_seconds = context.meter.store_seconds if context else 0.0
        principal = context.principal.id if context else ""
        request.app.state.metrics.observe(
            operation, outcome, seconds, trips, store_seconds, principal
        )
        log_request(request.state.request_id, operation, principal, outcome, seconds, trips)

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and self.graphiql_html and _wants_html(request):
            # The page itself is English whatever the request prefers.
            return HTMLResponse(self.graphiql_html, headers={"Content-Language": "en"})
        language = language_of(request.scope)
        accept = request.headers.get("accept")
        streaming = request.method == "POST" and wants_event_stream(accept)
        media_type = JSON if streaming else choose_media_type(accept)
        if media_type is None:
            return _plain_error(
                406,
                "Accept application/graphql-response+json or application/json.",
                language=language,
            )
        try:
            if request.method == "GET":
                gql = parse_params(request.query_params, from_url=True)
                allowed = {OperationType.QUERY}
            else:
                gql = parse_body(await request.body(), request.headers.get("content-type"))
                allowed = {OperationType.QUERY, OperationType.MUTATION}
        except RequestError as exc:
            return _plain_error(exc.status, exc.message, media_type, exc.headers, language=language)
        store: Store = request.app.state.store
        meter = start_meter()
        try:
            credentials = await self.authenticator.identify(request.headers, store)
        except Unauthenticated as exc:
            return _plain_error(
                401,
                exc.message,
                media_type,
                {"WWW-Authenticate": "Bearer"},
                ErrorCode.UNAUTHENTICATED,
                language=language,
            )
        retry_after = await self.rate_limit.retry_after(credentials, store)
        if retry_after is not None:
            request.state.outcome = "rate_limited"
            return Response(
                dumps({"errors": [self.rate_limit.error(retry_after, language)]}),
                status_code=429,
                media_type=media_type if media_type == GRAPHQL_RESPONSE else JSON,
                headers={"Retry-After": str(retry_after)},
            )
        context = make_context(
            request,
            credentials.principal,
            store,
            request.state.request_id,
            meter,
            request.app.state.bus,
            language=language,
        )
        request.state.context = context
        if streaming:
            return self._stream(request, gql, context, credentials)
        return await self._execute(request, gql, context, allowed, media_type)

    def _stream(
        self, request: Request, gql: GraphQLRequest, context: Context, credentials: Credentials
    ) -> Response:
        """Any operation, subscriptions included, as GraphQL over SSE ("distinct connections")."""
        bodies: AsyncIterator[Mapping[str, Any]] = operation_results(self.schema, gql, context)
        if credentials.can_end:
            ended = self.authenticator.ended(credentials, request.app.state.store)
            bodies = until_ended(bodies, ended, context.language)
        return EventStreamResponse(
            event_stream(
                bodies,
                on_outcome=lambda outcome: setattr(request.state, "outcome", outcome),
                request_id=context.request_id,
                language=context.language,
            )
        )

    async def _execute(
        self,
        request: Request,
        gql: GraphQLRequest,
        context: Context,
        allowed: set[OperationType],
        media_type: str,
    ) -> Response:
        language = context.language
        try:
            result = await self.schema.execute(
                gql.query,
                variable_values=gql.variables,
                context_value=context,
                operation_name=gql.operation_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError:
            if request.method == "GET":
                return _plain_error(
                    405, QUERIES_ONLY_OVER_GET, media_type, {"Allow": "POST"}, language=language
                )
            return _plain_error(400, SUBSCRIPTIONS_ELSEWHERE, media_type, language=language)
        except Exception:
            return _plain_error(
                400,
                "The request names no operation that can be run.",
                media_type,
                language=language,
            )
        body = result_body(result)
        if "errors" not in body:
            request.state.outcome = "ok"
        else:
            request.state.outcome = "error" if "data" in body else "rejected"
        return Response(
            dumps(body), status_code=status_for(body, media_type), media_type=media_type
        )


async def until_ended(
    bodies: AsyncIterator[Mapping[str, Any]], ended: Coroutine[Any, Any, str], language: str
) -> AsyncIterator[Mapping[str, Any]]:
    """`bodies` until `ended` returns; then one last body, an UNAUTHENTICATED error.

    An SSE stream whose credentials expire or are revoked thus ends with a
    `next` event carrying that error, then `complete`.
    """
    watcher: asyncio.Future[str] = asyncio.ensure_future(ended)
    step: asyncio.Future[Mapping[str, Any]] | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(bodies))
            racing: set[asyncio.Future[Any]] = {step, watcher}
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                await asyncio.wait({step})
                reason = translate(watcher.result(), language)
                yield error_body(reason, ErrorCode.UNAUTHENTICATED.value)
                return
            try:
                body = step.result()
            except StopAsyncIteration:
                return
            yield body
    finally:
        watcher.cancel()
        if step is not None and not step.done():
            step.cancel()
        pending: set[asyncio.Future[Any]] = {watcher} if step is None else {watcher, step}
        await asyncio.wait(pending)
        close = getattr(bodies, "aclose", None)
        if close is not None:
            await close()


def _outcome_of_status(status: int) -> str:
    if status == 401:
        return "unauthenticated"
    if status == 429:
        return "rate_limited"
    return "ok" if status < 400 else "bad_request"


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.query_params.get("query")


def _plain_error(
    status: int,
    message: str,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
    code: ErrorCode = ErrorCode.BAD_USER_INPUT,
    *,
    language: str,
) -> Response:
    return Response(
        dumps(error_body(translate(message, language), code.value)),
        status_code=status,
        media_type=media_type if media_type == GRAPHQL_RESPONSE else "application/json",
        headers=headers,
    )
