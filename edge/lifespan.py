"""The app's lifespan: the store (embedded or not), its watchdog, the event bus, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette

from config.settings import Settings
from edge.middleware.shutdown import Draining
from observability.metrics import Metrics
from resolvers.events.bus import EventBus, LocalBus, SharedBus
from storage import Store, open_store
from storage.embedded import EmbeddedServer, EmbeddedStoreError, start_or_attach

log = logging.getLogger("tags")

# What shutdown leaves for completing the fix-ups of cancelled requests: they
# are cancelled 4 s after the signal, the store takes about a second to stop,
# and the process exits by 8.5 s whatever happens (server.py).
FIXUP_BUDGET_S = 1.5


async def _complete_interrupted_work(store: Store, every: float = 0.5) -> None:
    """Operations a store failure cut short are completed once the store is back."""
    while True:
        await asyncio.sleep(every)
        if store.recovery.pending:
            await store.recovery.run_pending()


async def complete_before_exit(store: Store, budget: float = FIXUP_BUDGET_S) -> None:
    """Complete what the requests cancelled at shutdown left half done, within `budget`."""
    if not store.recovery.pending:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(store.recovery.run_pending(), budget)
    if store.recovery.pending:
        log.error(
            "%d interrupted operation(s) could not be completed before exit; "
            "run `tags-admin repair` to finish them.",
            store.recovery.pending,
        )


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


class EventMetrics(Collector):
    """The bus's delivery counters on /metrics, read when scraped."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = self.bus.stats
        yield CounterMetricFamily(
            "tags_event_deliveries",
            "Tag events handed to subscriptions (one per event and subscriber).",
            value=stats.deliveries,
        )
        yield CounterMetricFamily(
            "tags_event_store_round_trips",
            "Store round trips made to deliver tag events, shared loads and per-subscriber fields.",
            value=stats.round_trips,
        )
        yield CounterMetricFamily(
            "tags_event_subscriptions_dropped",
            "Subscriptions closed because they fell too far behind.",
            value=stats.dropped,
        )


def lifespan(
    settings: Settings,
    *,
    store: Store | None = None,
    bus: EventBus | None = None,
    embedded: EmbeddedServer | None = None,
) -> Callable[[Starlette], AbstractAsyncContextManager[dict[str, Any]]]:
    """The lifespan of `create_app`; `store`, `bus` and `embedded` as it was given them."""

    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[dict[str, Any]]:
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
                        start_or_attach, settings.data_dir, server=settings.embedded_server
                    )
                uri = server.uri
                log.info(
                    "Embedded store: SecantusDB (%s server) on 127.0.0.1:%d, data in %s%s.",
                    server.server if server.owned else "a running",
                    server.port,
                    settings.data_dir,
                    "" if server.owned else " (started by another process)",
                )
            active = open_store(
                uri,
                settings.mongodb_db,
                timeout_ms=settings.store_timeout_ms,
                embedded=settings.mongodb_uri is None,
                history_days=settings.history_days,
            )
        await active.ensure_indexes()
        await _warn_if_nobody_can_authenticate(active, settings)
        if settings.seed_demo:
            from demo.seed import seed_demo

            log.info("Demo workspace: %s", await seed_demo(active))
        app.state.store = active
        # Set when the server begins to shut down: open event streams end at once.
        app.state.draining = Draining()
        app.state.bus = bus or await _event_bus(active, settings)
        app.state.metrics = Metrics()
        app.state.metrics.registry.register(EventMetrics(app.state.bus))
        background = [asyncio.create_task(_complete_interrupted_work(active))]
        if server is not None and server.owned and settings.mongodb_uri is None:
            background.append(asyncio.create_task(_watch_embedded(server)))
        try:
            yield {}
        finally:
            for task in background:
                task.cancel()
            await complete_before_exit(active)
            if bus is None:
                await app.state.bus.close()
            if owned:
                active.close()
            if started_here is not None:
                await asyncio.to_thread(started_here.stop)

    return run
