"""Logs for operators: plain or JSON lines, and one line per request."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

ACCESS = logging.getLogger("tags.access")


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
