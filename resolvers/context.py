"""The per-request context every resolver receives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import strawberry

from i18n import DEFAULT_LANGUAGE
from resolvers.authorization import Principal
from resolvers.clock import now
from resolvers.dataloaders import Loaders, build_loaders
from resolvers.events.bus import EventBus, TagEventKind, TagEventRecord
from storage import Meter, Store, StoreError, start_meter


@dataclass(slots=True)
class Context:
    request: Any
    principal: Principal
    store: Store
    loaders: Loaders
    meter: Meter
    request_id: str = ""
    bus: EventBus | None = None
    # Events of the mutation under way, published only if it succeeds.
    events: list[TagEventRecord] = field(default_factory=list)
    # graphql-transport-ws puts the connection_init payload here.
    connection_params: dict[str, Any] | None = None
    # Known once the document is parsed; for logs and metrics.
    operation_name: str | None = None
    # Negotiated from Accept-Language (of the upgrade request for a WebSocket):
    # the language of every message in the responses.
    language: str = DEFAULT_LANGUAGE

    def refresh_loaders(self) -> None:
        """Forget everything loaded so far: a mutation may have made it stale."""
        self.loaders = build_loaders(self.store, self.principal.visibility)

    @contextlib.asynccontextmanager
    async def completed_after_outage(
        self, label: str, fix: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """Steps that a store failure, or the request's cancellation at shutdown,
        may cut short: `fix` completes them later (at shutdown, before the store
        closes; see edge/lifespan.py)."""
        try:
            yield
        except (StoreError, asyncio.CancelledError):
            self.store.recovery.register(label, fix)
            raise

    def emit(self, kind: TagEventKind, tag_id: str, workspace_id: str) -> None:
        self.events.append(TagEventRecord(kind, tag_id, workspace_id, now()))

    async def finish_mutation(self, succeeded: bool) -> None:
        """Publish what a successful mutation changed; a failed one changed nothing."""
        events, self.events = self.events, []
        if succeeded and events and self.bus is not None:
            # One event per tag and kind: a merge or a multi-type removal touches a
            # tag's usage several times, subscribers need to hear it once, where it
            # first happened. One pass: an import publishes 10 000 events.
            first: dict[tuple[TagEventKind, str], TagEventRecord] = {}
            for event in events:
                first.setdefault((event.kind, event.tag_id), event)
            await self.bus.publish(list(first.values()))


Info = strawberry.Info[Context, None]


def make_context(
    request: Any,
    principal: Principal,
    store: Store,
    request_id: str = "",
    meter: Meter | None = None,
    bus: EventBus | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> Context:
    """Build a context; the meter (started here unless given) counts every store call."""
    meter = meter or start_meter()
    return Context(
        request=request,
        principal=principal,
        store=store,
        loaders=build_loaders(store, principal.visibility),
        meter=meter,
        request_id=request_id,
        bus=bus,
        language=language,
    )
