"""`tagEvents`: live changes of one workspace, for callers who may read it.

The tag an event carries is loaded once per event and shared by every
subscriber of the workspace (see `bus.Delivery`). Sharing is safe: a
subscriber may read the whole workspace (checked when it subscribes) and the
load is restricted to that workspace. Everything a subscriber selects beyond
the tag's own fields (`parent`, `children`...) goes through its own loaders,
with its own visibility, as any query does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Protocol

from graphql import GraphQLError

from resolvers.authorization import READ, Principal
from resolvers.dataloaders import Loaders
from resolvers.errors import ErrorCode
from resolvers.events.bus import (
    QUEUE_LIMIT,
    Delivery,
    EventBus,
    EventStats,
    SubscriberTooSlow,
    TagEventKind,
    TagEventRecord,
)
from storage import Doc, Meter, Store, Visibility, start_meter


class SubscriberContext(Protocol):
    """What `tagEvents` uses of the request's `resolvers.context.Context`.

    An interface rather than `Context` itself: the context publishes through
    this package's bus, so importing it here would tie the two into a circle.
    """

    principal: Principal
    bus: EventBus | None
    loaders: Loaders
    meter: Meter
    store: Store

    def refresh_loaders(self) -> None: ...


FELL_BEHIND = (
    f"This subscription fell more than {QUEUE_LIMIT} events behind and was closed: events "
    "were missed. Refetch what you show, then subscribe again."
)


class FellBehind(GraphQLError):
    """The last result of a dropped subscription; `extensions.resync` tells clients why."""

    def __init__(self) -> None:
        # The contract's codes have none for this; `resync` is what a client acts on.
        super().__init__(
            FELL_BEHIND,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "resync": True},
        )


async def tag_events(
    ctx: SubscriberContext, workspace_id: str
) -> AsyncIterator[tuple[TagEventRecord, Doc | None]]:
    ws = ctx.principal.workspace(workspace_id, READ)
    bus = ctx.bus
    if bus is None:
        return
    # Store calls of this subscriber while its previous event was resolved.
    trips_before = ctx.meter.round_trips
    try:
        async for delivery in bus.deliveries(ws.id):
            bus.stats.round_trips += ctx.meter.round_trips - trips_before
            event = delivery.record
            # A long-lived connection must not answer from what it loaded for an
            # earlier event: every event gets fresh loaders.
            ctx.refresh_loaders()
            doc = None
            if event.kind is not TagEventKind.DELETED:
                doc = await delivery.tag(partial(_load_tag, ctx.store, delivery, bus.stats))
                if doc is not None:
                    ctx.loaders.prime_tags([doc])
            trips_before = ctx.meter.round_trips
            yield event, doc
    except SubscriberTooSlow:
        raise FellBehind() from None
    finally:
        bus.stats.round_trips += ctx.meter.round_trips - trips_before


async def _load_tag(store: Store, delivery: Delivery, stats: EventStats) -> Doc | None:
    # Runs in a task of its own, so this meter counts this load and nobody else's.
    meter = start_meter()
    event = delivery.record
    try:
        docs = await store.tags.by_ids([event.tag_id], Visibility(frozenset({event.workspace_id})))
    finally:
        stats.round_trips += meter.round_trips
    return docs[0] if docs else None
