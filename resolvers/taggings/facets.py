"""Counts of tags over resources: TaggedResourceConnection.tagCounts and Tag.related.

Each is one aggregation in the store, counted over at most the 10 000 most
recently tagged resources (the contract's bound). Tag.related goes through the
`related_by_tag_id` loader, so a page of tags asking for it costs one
aggregation (per workspace on the page) plus one batched read of the tags
found, whatever the number of tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from i18n import msg
from resolvers.authorization import READ
from resolvers.context import Context
from resolvers.errors import BadUserInput
from storage import AuthorizedWorkspace, Doc

MAX_COUNTS = 100


@dataclass(frozen=True, slots=True)
class ResourceSet:
    """The resources a connection lists, on all its pages."""

    ws: AuthorizedWorkspace
    groups: Sequence[Sequence[str]]
    match_all: bool
    rtype: str | None


def checked_first(first: int | None, default: int) -> int:
    limit = default if first is None else first
    if not 0 <= limit <= MAX_COUNTS:
        raise BadUserInput(
            msg("{argument} must be between 0 and {max}.", argument="first", max=MAX_COUNTS)
        )
    return limit


async def _with_tags(ctx: Context, rows: Sequence[Doc]) -> list[tuple[Doc, int]]:
    """(tag document, count) in the rows' order; a tag deleted meanwhile is left out."""
    docs = await ctx.loaders.tag_by_id.load_many([row["_id"] for row in rows])
    return [(doc, row["count"]) for doc, row in zip(docs, rows, strict=True) if doc is not None]


async def tag_counts(
    ctx: Context, resources: ResourceSet | None, first: int | None
) -> list[tuple[Doc, int]]:
    limit = checked_first(first, 20)
    if resources is None or limit == 0:
        return []
    rows = await ctx.store.taggings.tag_counts(
        resources.ws, resources.groups, resources.match_all, resources.rtype, limit
    )
    return await _with_tags(ctx, rows)


async def related(ctx: Context, tag: Doc, first: int | None) -> list[tuple[Doc, int]]:
    limit = checked_first(first, 10)
    if limit == 0 or ctx.principal.workspace_of(tag["ws"], READ) is None:
        return []
    rows = await ctx.loaders.related_by_tag_id.load((tag["ws"], tag["_id"], limit))
    return await _with_tags(ctx, rows)
