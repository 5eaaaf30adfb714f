"""Per-request accounting of store round trips and time spent awaiting the store.

A `Meter` is installed in a context variable when a request starts. DataLoader
batches run in tasks created later, which copy the context and so share the
same (mutable) meter.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(slots=True)
class Meter:
    round_trips: int = 0
    store_seconds: float = 0.0


_current: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("tags_meter", default=None)


def start_meter() -> Meter:
    meter = Meter()
    _current.set(meter)
    return meter


def current_meter() -> Meter | None:
    return _current.get()
