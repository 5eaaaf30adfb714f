"""The Tags service application: `create_app(settings)` builds it, `main` serves it."""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from config.settings import Settings
from edge.graphiql import URL_PREFIX, VENDOR
from edge.graphql_http import GraphQLEndpoint
from edge.graphql_ws import MAX_MESSAGE, GraphQLWebSocket
from edge.lifespan import lifespan
from edge.middleware.body_limit import BodyLimit
from edge.middleware.languages import Languages
from edge.middleware.loopback_host import LoopbackHostOnly
from edge.middleware.request_ids import RequestIds
from edge.middleware.shutdown import REQUEST_GRACE_S, CancelOnShutdown
from edge.probes import healthz, metrics, readyz
from observability.logs import configure_logging
from resolvers.events.bus import EventBus
from schema import build_schema
from storage import Store
from storage.embedded import EmbeddedServer, EmbeddedStoreError, start_or_attach

# uvicorn kills a worker that does not answer its supervisor's ping within this
# time. A spawned worker answers only once it has imported this module and its
# libraries, which takes more than uvicorn's default 5 s on a busy machine: the
# workers were then killed and restarted over and over.
WORKER_HEALTHCHECK_S = 60
# The contract: SIGTERM/SIGINT to exit 0 within 10 s. Event streams end at
# once; other requests get REQUEST_GRACE_S to finish, then are cancelled
# (edge/middleware/shutdown.py); the store then stops (about a second).
# uvicorn's own timeout is a backstop for a request that ignores cancellation.
# Should anything still run at HARD_EXIT_S (a request holding the event loop,
# a store that does not stop), the process stops the store child and exits.
GRACE_S = REQUEST_GRACE_S + 1.5
HARD_EXIT_S = 8.5


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

    middleware = [Middleware(CancelOnShutdown), Middleware(RequestIds), Middleware(Languages)]
    if settings.auth_mode == "dev":
        # Before CORS, so that even a preflight from a rebinding page gets its 400.
        middleware.append(Middleware(LoopbackHostOnly))
    middleware.append(Middleware(BodyLimit))
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
            WebSocketRoute(
                "/graphql", GraphQLWebSocket(schema, http.authenticator, http.rate_limit)
            ),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Mount(URL_PREFIX, StaticFiles(directory=VENDOR, check_dir=False)),
        ],
        middleware=middleware,
        lifespan=lifespan(settings, store=store, bus=bus, embedded=embedded),
    )


def worker_app() -> Starlette:
    """The app of one of several uvicorn workers: spawned processes, so logging is set up anew."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    # As `access_log: False` does in the parent: the service logs requests itself.
    logging.getLogger("uvicorn.access").propagate = False
    return create_app(settings)


def _graceful_server(
    config: Any, app: Starlette | None = None, embedded: EmbeddedServer | None = None
) -> Any:
    """A uvicorn server that stops on SIGINT/SIGTERM and then exits 0, within HARD_EXIT_S.

    Stock uvicorn re-raises the captured signal once shut down, so the process
    would die by that signal; the contract wants a clean exit instead. `app`
    hears that shutdown began (its event streams end at once); `embedded` is
    the store child the hard exit stops.
    """
    import signal
    import threading

    import uvicorn

    class Server(uvicorn.Server):
        deadline: threading.Timer | None = None

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
                # The deadline stays armed: after serving, the exit may still wait
                # for the store client's threads to finish what cancelled requests began.
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _stop(self, sig: int, frame: object) -> None:
            # A second Ctrl-C skips waiting for in-flight requests.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            if self.deadline is None:
                # A thread, not the event loop: a request that holds the loop must
                # not hold the exit too.
                # Taken now: a stop under way forgets the process before it is gone.
                child = embedded.process if embedded is not None else None
                self.deadline = threading.Timer(HARD_EXIT_S, _hard_exit, (child,))
                self.deadline.daemon = True
                self.deadline.start()

        async def shutdown(self, sockets: Any = None) -> None:
            if app is not None:
                draining = getattr(app.state, "draining", None)
                if draining is not None:
                    draining.set()
            await super().shutdown(sockets)

    return Server(config)


def _hard_exit(child: subprocess.Popen[bytes] | None) -> None:
    import os

    logging.getLogger("tags").error(
        "Shutdown took longer than %.1f s: stopping the store and exiting now.", HARD_EXIT_S
    )
    if child is not None and child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            child.kill()
    logging.shutdown()
    os._exit(0)


def main() -> None:
    """`make run`: serve with the settings of the environment."""
    import sys

    import uvicorn

    from config.settings import SettingsError

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
        "timeout_graceful_shutdown": GRACE_S,
        # WebSocket frames over 1 MiB are refused (1009) before they are buffered.
        "ws_max_size": MAX_MESSAGE,
    }
    # Started before uvicorn so that a failure is one clear line, and so that
    # every worker attaches to this one server.
    embedded = None
    if settings.embedded:
        try:
            embedded = start_or_attach(settings.data_dir, server=settings.embedded_server)
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
            app = create_app(settings, embedded=embedded)
            config = uvicorn.Config(app, **options)
            _graceful_server(config, app, embedded).run()
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
