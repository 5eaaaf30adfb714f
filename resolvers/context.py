"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from resolvers.auth import Principal
from resolvers.loaders import Loaders, build_loaders
from storage import Meter, Store, start_meter


@dataclass(slots=True)
class Context:
    request: Any
    principal: Principal
    store: Store
    loaders: Loaders
    meter: Meter
    request_id: str = ""
    # Set by mutations; read by the event bus and the access log.
    events: list[Any] = field(default_factory=list)

    def refresh_loaders(self) -> None:
        """Forget everything loaded so far: a mutation may have made it stale."""
        self.loaders = build_loaders(self.store, self.principal.visibility)


Info = strawberry.Info[Context, None]


def make_context(
    request: Any, principal: Principal, store: Store, request_id: str = "", meter: Meter | None = None
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
    )
