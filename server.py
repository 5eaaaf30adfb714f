"""The Tags service application: `create_app(settings)` builds it, nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from observability import Metrics, configure_logging, log_request
from resolvers.auth import Principal
from resolvers.context import Context, make_context
from resolvers.credentials import Authenticator, Unauthenticated
from resolvers.errors import ErrorCode
from resolvers.events import EventBus, LocalBus, SharedBus
from resolvers.http import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    choose_media_type,
    dumps,
    error_body,
    parse_body,
    parse_params,
    result_body,
    status_for,
)
from schema import TagsSchema, build_schema
from settings import Settings
from storage import Store, StoreError, open_store, start_meter
from storage.embedded import EmbeddedServer, EmbeddedStoreError, start_or_attach
from web.assets import URL_PREFIX, VENDOR, graphiql_page
from web.sse import EventStreamResponse, event_stream, operation_results, wants_event_stream

log = logging.getLogger("tags")

MAX_BODY = 1024 * 1024
# uvicorn kills a worker that does not answer its supervisor's ping within this
# time. A spawned worker answers only once it has imported this module and its
# libraries, which takes more than uvicorn's default 5 s on a busy machine: the
# workers were then killed and restarted over and over.
WORKER_HEALTHCHECK_S = 60
REQUEST_ID_HEADER = "x-request-id"


class BodyLimit:
    """Refuses request bodies over the limit with 413 before they are buffered."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
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
        dumps(error_body("The request body is larger than 1 MiB.", ErrorCode.BAD_USER_INPUT.value)),
        status_code=413,
        media_type="application/json",
    )
    await response(scope, receive, send)


class RequestIds:
    """Gives every request an id (the client's X-Request-ID when sane) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = (
            given if given and len(given) <= 128 and given.isprintable() else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class GraphQLEndpoint:
    def __init__(self, schema: TagsSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.authenticator = Authenticator.from_settings(settings)
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
        request.app.state.metrics.observe(operation, outcome, seconds, trips, store_seconds)
        log_request(request.state.request_id, operation, principal, outcome, seconds, trips)

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and self.graphiql_html and _wants_html(request):
            return HTMLResponse(self.graphiql_html)
        accept = request.headers.get("accept")
        streaming = request.method == "POST" and wants_event_stream(accept)
        media_type = JSON if streaming else choose_media_type(accept)
        if media_type is None:
            return _plain_error(
                406, "Accept application/graphql-response+json or application/json."
            )
        try:
            if request.method == "GET":
                gql = parse_params(request.query_params, from_url=True)
                allowed = {OperationType.QUERY}
            else:
                gql = parse_body(await request.body(), request.headers.get("content-type"))
                allowed = {OperationType.QUERY, OperationType.MUTATION}
        except RequestError as exc:
            return _plain_error(exc.status, exc.message, media_type, exc.headers)
        store: Store = request.app.state.store
        meter = start_meter()
        try:
            principal = await self.authenticator.authenticate(request.headers, store)
        except Unauthenticated as exc:
            return _plain_error(
                401, str(exc), media_type, {"WWW-Authenticate": "Bearer"}, ErrorCode.UNAUTHENTICATED
            )
        context = make_context(
            request, principal, store, request.state.request_id, meter, request.app.state.bus
        )
        request.state.context = context
        if streaming:
            return EventStreamResponse(
                event_stream(
                    operation_results(self.schema, gql, context),
                    on_outcome=lambda outcome: setattr(request.state, "outcome", outcome),
                    request_id=context.request_id,
                )
            )
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
                    405,
                    "Only queries can be sent with GET; use POST.",
                    media_type,
                    {"Allow": "POST"},
                )
            return _plain_error(400, SUBSCRIPTIONS_ELSEWHERE, media_type)
        except Exception:
            return _plain_error(400, "The request names no operation that can be run.", media_type)
        body = result_body(result)
        if "errors" not in body:
            request.state.outcome = "ok"
        else:
            request.state.outcome = "error" if "data" in body else "rejected"
        return Response(
            dumps(body), status_code=status_for(body, media_type), media_type=media_type
        )


SUBSCRIPTIONS_ELSEWHERE = (
    "Subscriptions are served over a WebSocket (graphql-transport-ws) or over Server-Sent "
    "Events (POST with Accept: text/event-stream)."
)

# Until connection_init authenticates it, a socket's principal may do nothing.
NOBODY = Principal(id="", scopes=(), workspace_ids=())


class GraphQLWebSocket(GraphQL[Context, None]):
    """Subscriptions over graphql-transport-ws only; the legacy graphql-ws is refused.

    Credentials come from the upgrade request's headers or from the
    connection_init payload (`Authorization` / `X-API-Key`); refused ones close
    the socket with 4403.
    """

    def __init__(self, schema: TagsSchema, authenticator: Authenticator) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.authenticator = authenticator

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        request_id = getattr(request.state, "request_id", "")
        return make_context(request, NOBODY, state.store, request_id, bus=state.bus)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        headers = {k.lower(): v for k, v in context.request.headers.items()}
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        for key, value in params.items():
            if isinstance(key, str) and key.lower() in ("authorization", "x-api-key"):
                if not isinstance(value, str):
                    raise ConnectionRejectionError({"message": "Credentials must be strings."})
                headers[key.lower()] = value
        try:
            context.principal = await self.authenticator.authenticate(headers, context.store)
        except Unauthenticated:
            raise ConnectionRejectionError({"message": "Unauthenticated."}) from None
        context.refresh_loaders()
        return UNSET


def _outcome_of_status(status: int) -> str:
    if status == 401:
        return "unauthenticated"
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
) -> Response:
    return Response(
        dumps(error_body(message, code.value)),
        status_code=status,
        media_type=media_type if media_type == GRAPHQL_RESPONSE else "application/json",
        headers=headers,
    )


async def metrics(request: Request) -> Response:
    return Response(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    store: Store = request.app.state.store
    try:
        await store.ping()
    except StoreError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _complete_interrupted_work(store: Store, every: float = 0.5) -> None:
    """Operations a store failure cut short are completed once the store is back."""
    while True:
        await asyncio.sleep(every)
        if store.recovery.pending:
            await store.recovery.run_pending()


async def _watch_embedded(server: EmbeddedServer, every: float = 1.0) -> None:
    """A crashed embedded store is reported and started again on the same port."""
    while True:
        await asyncio.sleep(every)
        code = server.crashed()
        if code is None:
            continue
        log.error(
            "The embedded store (SecantusDB) exited unexpectedly with code %s; restarting it. "
            "Its log: %s",
            code,
            server.log_path,
        )
        try:
            await asyncio.to_thread(server.restart)
        except EmbeddedStoreError as exc:
            log.error("The embedded store could not be restarted: %s", exc)
            await asyncio.sleep(5)


async def _warn_if_nobody_can_authenticate(store: Store, settings: Settings) -> None:
    """`required` mode with no JWT key and no API key refuses every request: say so once."""
    if settings.auth_mode != "required" or settings.jwt_secret or settings.jwt_public_key:
        return
    if any(not key.get("revokedAt") for key in await store.api_keys.all()):
        return
    log.warning(
        "TAGS_AUTH_MODE=required but neither TAGS_JWT_SECRET nor TAGS_JWT_PUBLIC_KEY is set "
        "and there is no active API key: every request will be refused with 401. Set a JWT "
        "secret or key, or create a key with `tags-admin keys create`."
    )


async def _event_bus(store: Store, settings: Settings) -> EventBus:
    """Change streams where the store has them; otherwise this process only."""
    from storage.events import MongoEventLog, supports_change_streams

    if await supports_change_streams(store.database):
        event_log = MongoEventLog(store.database)
        await event_log.ensure_indexes()
        log.info("Tag events travel through MongoDB change streams.")
        return SharedBus(event_log, store.recovery)
    if settings.workers > 1:
        log.warning(
            "The store has no change streams (not a replica set): tag events reach only "
            "subscribers connected to the worker that made the change."
        )
    return LocalBus()


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    bus: EventBus | None = None,
    embedded: EmbeddedServer | None = None,
) -> Starlette:
    """Build the ASGI app. `store` and `bus` let tests share them between apps.

    `embedded`: the embedded store `main` started; without one (and without a
    URI) the app starts it, or attaches to the one another process runs.
    """
    settings = settings or Settings.from_env()
    schema = build_schema(introspection=settings.introspection)
    http = GraphQLEndpoint(schema, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        owned = store is None
        started_here: EmbeddedServer | None = None
        server = embedded
        if store is not None:
            active = store
        else:
            uri = settings.mongodb_uri
            if uri is None:
                if server is None:
                    server = started_here = await asyncio.to_thread(
                        start_or_attach, settings.data_dir
                    )
                uri = server.uri
                log.info(
                    "Embedded store: SecantusDB on 127.0.0.1:%d, data in %s%s.",
                    server.port,
                    settings.data_dir,
                    "" if server.owned else " (started by another process)",
                )
            active = open_store(
                uri,
                settings.mongodb_db,
                timeout_ms=settings.store_timeout_ms,
                embedded=settings.mongodb_uri is None,
            )
        await active.ensure_indexes()
        await _warn_if_nobody_can_authenticate(active, settings)
        if settings.seed_demo:
            from demo import seed_demo

            log.info("Demo workspace: %s", await seed_demo(active))
        app.state.store = active
        app.state.bus = bus or await _event_bus(active, settings)
        app.state.metrics = Metrics()
        background = [asyncio.create_task(_complete_interrupted_work(active))]
        if server is not None and server.owned and settings.mongodb_uri is None:
            background.append(asyncio.create_task(_watch_embedded(server)))
        try:
            yield {}
        finally:
            for task in background:
                task.cancel()
            if bus is None:
                await app.state.bus.close()
            if owned:
                active.close()
            if started_here is not None:
                await asyncio.to_thread(started_here.stop)

    middleware = [Middleware(RequestIds), Middleware(BodyLimit)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["content-type", "authorization", "x-api-key", "x-request-id"],
                expose_headers=["x-request-id"],
            )
        )
    return Starlette(
        routes=[
            Route("/graphql", http, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", GraphQLWebSocket(schema, http.authenticator)),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Mount(URL_PREFIX, StaticFiles(directory=VENDOR, check_dir=False)),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


def worker_app() -> Starlette:
    """The app of one of several uvicorn workers: spawned processes, so logging is set up anew."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    # As `access_log: False` does in the parent: the service logs requests itself.
    logging.getLogger("uvicorn.access").propagate = False
    return create_app(settings)


def _graceful_server(config: Any) -> Any:
    """A uvicorn server that stops on SIGINT/SIGTERM and then exits 0.

    Stock uvicorn re-raises the captured signal once shut down, so the process
    would die by that signal; the contract wants a clean exit instead.
    """
    import signal
    import threading

    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            stops = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self._stop) for sig in stops}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _stop(self, sig: int, frame: object) -> None:
            # A second Ctrl-C skips waiting for in-flight requests.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

    return Server(config)


def main() -> None:
    """`make run`: serve with the settings of the environment."""
    import sys

    import uvicorn

    from settings import SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"tags: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_format, settings.log_level)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,
        # Requests are logged by the service itself, with operation and request id.
        "access_log": False,
        "timeout_graceful_shutdown": 8,
    }
    # Started before uvicorn so that a failure is one clear line, and so that
    # every worker attaches to this one server.
    embedded = None
    if settings.embedded:
        try:
            embedded = start_or_attach(settings.data_dir)
        except EmbeddedStoreError as exc:
            print(f"tags: the embedded store could not start: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
    try:
        if settings.workers > 1:
            uvicorn.run(
                "server:worker_app",
                factory=True,
                workers=settings.workers,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
                **options,
            )
        else:
            config = uvicorn.Config(create_app(settings, embedded=embedded), **options)
            _graceful_server(config).run()
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
