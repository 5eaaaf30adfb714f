"""Relay connection arguments, opaque keyset cursors and lazily probed pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from config.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from i18n import msg
from resolvers.errors import BadUserInput

# What each kind of cursor carries, in sort order; checked on decode so a forged
# cursor can never smuggle an operator document into a query.
CURSOR_SHAPES: dict[str, tuple[type, ...]] = {
    "NAME": (str, str),
    "CREATED_AT": (datetime, str),
    "UPDATED_AT": (datetime, str),
    "USAGE_COUNT": (int, str, str),
    # Rank, negated usage, name key, id (resolvers/tags/relevance.py).
    "RELEVANCE": (int, int, str, str),
    "RESOURCES": (datetime, str),
    # (1.2) tagChanges and Tag.history: time, entry id.
    "CHANGES": (datetime, str),
}


@dataclass(frozen=True, slots=True)
class PageArgs:
    limit: int
    from_end: bool
    after: list[Any] | None
    before: list[Any] | None


def page_args(
    kind: str, first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    if first is not None and last is not None:
        raise BadUserInput("Pass either first or last, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(
                msg("{argument} must be between 0 and {max}.", argument=name, max=MAX_PAGE_SIZE)
            )
    from_end = last is not None or (first is None and before is not None and after is None)
    if first is not None:
        limit = first
    elif last is not None:
        limit = last
    else:
        limit = DEFAULT_PAGE_SIZE
    return PageArgs(
        limit=limit,
        from_end=from_end,
        after=decode_cursor(kind, after) if after is not None else None,
        before=decode_cursor(kind, before) if before is not None else None,
    )


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": int(value.replace(tzinfo=UTC).timestamp() * 1000)}
    return value


def encode_cursor(kind: str, values: Sequence[Any]) -> str:
    raw = orjson.dumps([kind, *(_encode_value(v) for v in values)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Far above any cursor this service makes (a 100-character name folds to at
# most 300 characters), so a forged one cannot carry a huge value to the store.
MAX_CURSOR = 4096


def decode_cursor(kind: str, cursor: str) -> list[Any]:
    shape = CURSOR_SHAPES[kind]
    if len(cursor) > MAX_CURSOR:
        raise BadUserInput("Invalid cursor.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise BadUserInput("Invalid cursor.") from None
    if not isinstance(data, list) or len(data) != len(shape) + 1 or data[0] != kind:
        raise BadUserInput("Invalid cursor (it belongs to another list or order).")
    values: list[Any] = []
    for expected, value in zip(shape, data[1:], strict=True):
        if expected is datetime:
            if not (
                isinstance(value, dict) and isinstance(value.get("t"), int) and len(value) == 1
            ):
                raise BadUserInput("Invalid cursor.")
            try:
                value = datetime.fromtimestamp(value["t"] / 1000, UTC).replace(tzinfo=None)
            except (OverflowError, OSError, ValueError):
                raise BadUserInput("Invalid cursor.") from None
        elif type(value) is not expected:
            raise BadUserInput("Invalid cursor.")
        values.append(value)
    return values


# beyond(values, forward): does any item lie strictly after (forward) or before
# `values` in the list's order?
Beyond = Callable[[Sequence[Any], bool], Awaitable[bool]]


class Page:
    """One page of a keyset-paginated list.

    The direction the page was read in is known from fetching one item more
    than asked; the other direction, and the total, cost a store call and are
    computed only when a client selects them.
    """

    __slots__ = ("_args", "_beyond_fn", "_count", "_more", "docs", "keys", "source")

    def __init__(
        self,
        docs: list[Any],
        keys: list[list[Any]],
        args: PageArgs,
        more: bool,
        beyond: Beyond,
        count: Callable[[], Awaitable[int]],
    ) -> None:
        self.docs = docs
        self.keys = keys
        self._args = args
        self._more = more
        self._beyond_fn = beyond
        self._count = count
        # What the whole list is drawn from, for fields computed over every page
        # (a resource connection's tagCounts); None when the list is empty by rule.
        self.source: Any = None

    async def has_next(self) -> bool:
        if not self._args.from_end:
            return self._more
        return await self._beyond(self._args.before, forward=True)

    async def has_previous(self) -> bool:
        if self._args.from_end:
            return self._more
        return await self._beyond(self._args.after, forward=False)

    async def _beyond(self, bound: list[Any] | None, *, forward: bool) -> bool:
        if bound is None:
            # No cursor on that side: the page starts (or ends) the list.
            return False
        if self.keys:
            return await self._beyond_fn(self.keys[-1] if forward else self.keys[0], forward)
        # An empty page after (before) a cursor: anything at all lies on the other side.
        return await self._count() > 0

    async def total(self) -> int:
        return await self._count()


async def read_page(
    args: PageArgs,
    fetch: Callable[[int], Awaitable[list[Any]]],
    key_of: Callable[[Any], list[Any]],
    beyond: Beyond,
    count: Callable[[], Awaitable[int]],
) -> Page:
    """Fetch `limit + 1` items to learn whether more lie in the reading direction."""
    if args.limit == 0:
        docs, more = [], bool(await fetch(1))
    else:
        docs = await fetch(args.limit + 1)
        more = len(docs) > args.limit
    if more and docs:
        docs = docs[1:] if args.from_end else docs[: args.limit]
    return Page(docs, [key_of(d) for d in docs], args, more, beyond, count)
