"""Timestamps as the store keeps them: naive UTC, millisecond precision."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    current = datetime.now(UTC).replace(tzinfo=None)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)
