"""Metrics and logs for operators: Prometheus text on /metrics, one log line per request."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

ACCESS = logging.getLogger("tags.access")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Operation names come from clients: past this many distinct ones, the rest are
# counted as "other" so a hostile client cannot grow the metrics without bound.
MAX_OPERATION_LABELS = 200


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

    def label(self, operation: str | None) -> str:
        if not operation:
            return "anonymous"
        if not _NAME.fullmatch(operation):
            return "other"
        if operation not in self._labels:
            if len(self._labels) >= MAX_OPERATION_LABELS:
                return "other"
            self._labels.add(operation)
        return operation

    def observe(
        self, operation: str | None, outcome: str, seconds: float, trips: int, store_seconds: float
    ) -> None:
        label = self.label(operation)
        self.requests.labels(label, outcome).inc()
        self.latency.labels(label).observe(seconds)
        self.round_trips.labels(label).observe(trips)
        self.round_trips_total.inc(trips)
        self.store_seconds.inc(store_seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields passed with `extra=` are included."""

    # uvicorn passes a terminal-coloured copy of its message as `color_message`:
    # ANSI escapes are noise to a log collector, and `message` already says it.
    RESERVED = set(vars(logging.makeLogRecord({}))) | {"color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self.RESERVED and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


GRAPHQL_PATH = "/graphql"


class StartupLine(logging.Filter):
    """Makes uvicorn's "running on http://host:port" name the URL to open, `/graphql`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Uvicorn running on "):
            # Only the TCP form ends in ":%d (": sockets and unix paths have no URL to extend.
            record.msg = record.msg.replace(":%d (", f":%d{GRAPHQL_PATH} (")
            record.__dict__.pop("color_message", None)
        return True


def configure_logging(log_format: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(StartupLine())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers go through the same handler and format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def log_request(
    request_id: str, operation: str | None, principal: str, outcome: str, seconds: float, trips: int
) -> None:
    ACCESS.info(
        "%s %s %.1f ms, %d round trips",
        operation or "anonymous",
        outcome,
        seconds * 1000,
        trips,
        extra={
            "request_id": request_id,
            "operation": operation,
            "principal": principal,
            "outcome": outcome,
            "duration_ms": round(seconds * 1000, 3),
            "round_trips": trips,
        },
    )
