"""Prometheus metrics of the service, rendered as text on /metrics."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Operation names come from clients: past this many distinct ones, the rest are
# counted as "other" so a hostile client cannot grow the metrics without bound.
MAX_OPERATION_LABELS = 200
# ...and one principal may name at most this many of them, so a single client
# (or leaked key) cannot fill the set with junk and push the real names out.
MAX_LABELS_PER_PRINCIPAL = 20
# Only a document that ran (it passed parsing, validation and the limits) may
# claim a new label: anything refused earlier is not an operation of the app.
ADMITTING_OUTCOMES = frozenset({"ok", "error"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tags_graphql_requests_total",
            "GraphQL requests by operation name and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tags_graphql_request_duration_seconds",
            "Wall time of GraphQL requests.",
            ["operation"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.round_trips = Histogram(
            "tags_store_round_trips_per_request",
            "Store round trips made by one GraphQL request.",
            ["operation"],
            registry=self.registry,
            buckets=(0, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128),
        )
        self.round_trips_total = Counter(
            "tags_store_round_trips_total", "Store round trips.", registry=self.registry
        )
        self.store_seconds = Counter(
            "tags_store_seconds_total", "Time spent awaiting the store.", registry=self.registry
        )
        self._labels: set[str] = set()
        # How many labels each principal has claimed; at most MAX_OPERATION_LABELS keys.
        self._claimed: dict[str, int] = {}

    def label(self, operation: str | None, principal: str = "", outcome: str = "ok") -> str:
        """The first names seen in this process, within each principal's share; else "other"."""
        if not operation:
            return "anonymous"
        if operation in self._labels:
            return operation
        if (
            not _NAME.fullmatch(operation)
            or outcome not in ADMITTING_OUTCOMES
            or len(self._labels) >= MAX_OPERATION_LABELS
            or self._claimed.get(principal, 0) >= MAX_LABELS_PER_PRINCIPAL
        ):
            return "other"
        self._labels.add(operation)
        self._claimed[principal] = self._claimed.get(principal, 0) + 1
        return operation

    def observe(
        self,
        operation: str | None,
        outcome: str,
        seconds: float,
        trips: int,
        store_seconds: float,
        principal: str = "",
    ) -> None:
        label = self.label(operation, principal, outcome)
        self.requests.labels(label, outcome).inc()
        self.latency.labels(label).observe(seconds)
        self.round_trips.labels(label).observe(trips)
        self.round_trips_total.inc(trips)
        self.store_seconds.inc(store_seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
