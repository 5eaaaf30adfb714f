"""Custom scalars of the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from inspect import cleandoc
from typing import Any

import strawberry
from strawberry.scalars import JSON

__all__ = ["JSON", "DateTime", "JSONObject", "format_datetime"]


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


def _as_is(value: Any) -> Any:
    return value


# Strawberry's own JSON scalar carries the framework's stock description; this
# one (registered over it in build_schema) carries the contract's, and behaves
# the same: values pass through unchanged (resolvers/normalization.py checks metadata).
JSONObject = strawberry.scalar(
    name="JSON",
    description=cleandoc(
        """
        Any JSON object (tag metadata). At most 16384 bytes when serialized as UTF-8
        JSON, nesting depth at most 5 (the top object is depth 1), every key at every
        depth 1-64 characters that neither starts with `$` nor contains `.`. A value
        breaking these rules is a VALIDATION user error with field `["metadata", …]`.
        """
    ),
    specified_by_url=(
        "https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf"
    ),
    serialize=_as_is,
    parse_value=_as_is,
)
