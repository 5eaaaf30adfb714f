"""Fields of a tag that need other documents: tree and usage, all through loaders."""

from __future__ import annotations

from collections.abc import Awaitable
from inspect import isawaitable

from config.limits import MAX_PAGE_SIZE
from i18n import msg
from resolvers.context import Context
from resolvers.dataloaders import held, load_now, then
from resolvers.errors import BadUserInput
from resolvers.normalization import RESOURCE_TYPE_RE
from storage import Doc
from storage.tags import type_key


def parent(ctx: Context, tag: Doc) -> Doc | Awaitable[Doc | None] | None:
    parent_id = tag.get("parentId")
    return load_now(ctx.loaders.tag_by_id, parent_id) if parent_id else None


async def ancestors(ctx: Context, tag: Doc) -> list[Doc]:
    ids = tag.get("ancestors") or []
    if not ids:
        return []
    return [d for d in await ctx.loaders.tag_by_id.load_many(ids) if d is not None]


def children(ctx: Context, tag: Doc, first: int | None) -> list[Doc] | Awaitable[list[Doc]]:
    if first is not None and not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(
            msg("{argument} must be between 0 and {max}.", argument="first", max=MAX_PAGE_SIZE)
        )
    docs = load_now(ctx.loaders.children_by_parent_id, (tag["ws"], tag["_id"]))
    if isawaitable(docs):
        return docs if first is None else then(docs, lambda found: found[:first])
    return docs if first is None else docs[:first]


def child_count(ctx: Context, tag: Doc) -> int | Awaitable[int]:
    key = (tag["ws"], tag["_id"])
    # Children already loaded for this tag answer the count with no store call.
    loaded = held(ctx.loaders.children_by_parent_id, key)
    if loaded is not None:
        return len(loaded)
    return load_now(ctx.loaders.child_count_by_parent_id, key)


def usage_count(ctx: Context, tag: Doc, resource_type: str | None) -> int | Awaitable[int]:
    if resource_type is not None and not RESOURCE_TYPE_RE.fullmatch(resource_type):
        # No resource can have a type that breaks the type rules.
        return 0
    counters = load_now(ctx.loaders.usage_by_tag_id, tag["_id"])
    if isawaitable(counters):
        return _count_later(counters, resource_type)
    return _count(counters, resource_type)


async def _count_later(counters: Awaitable[Doc | None], resource_type: str | None) -> int:
    return _count(await counters, resource_type)


def _count(counters: Doc | None, resource_type: str | None) -> int:
    if counters is None:
        return 0
    if resource_type is None:
        return max(int(counters.get("usage", 0)), 0)
    by_type = counters.get("usageByType") or {}
    return max(int(by_type.get(type_key(resource_type), 0)), 0)
