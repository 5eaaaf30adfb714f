"""Schema extension: the response's `extensions.cost`, the store round trips it took.

Passed to the schema as a class: Strawberry makes a fresh instance per
operation, so nothing leaks between concurrent requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension


class Cost(SchemaExtension):
    """Adds `extensions.cost.dbRoundTrips` once an operation has passed validation."""

    executed = False

    def on_execute(self) -> Iterator[None]:
        self.executed = True
        context = self.execution_context.context
        if hasattr(context, "operation_name"):
            context.operation_name = self.execution_context.operation_name
        yield

    def get_results(self) -> dict[str, Any]:
        if not self.executed:
            return {}
        meter = getattr(self.execution_context.context, "meter", None)
        return {"cost": {"dbRoundTrips": meter.round_trips if meter else 0}}
