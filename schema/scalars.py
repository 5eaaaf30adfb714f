"""Custom scalars of the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

__all__ = ["JSON", "DateTime", "format_datetime"]


def format_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs a time zone")
    return parsed.astimezone(UTC).replace(tzinfo=None)


DateTime = strawberry.scalar(
    name="DateTime",
    description=(
        "An instant in time: ISO-8601 string in UTC with a `Z` suffix and millisecond "
        "precision, e.g. `2026-02-01T10:00:00.000Z`."
    ),
    serialize=format_datetime,
    parse_value=_parse_datetime,
)
