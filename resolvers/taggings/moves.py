"""Moving a merged tag's associations onto the tag it was merged into."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from resolvers.context import Context
from resolvers.taggings.associations import add_associations
from storage import AuthorizedWorkspace, Doc


async def move_taggings(
    ctx: Context, ws: AuthorizedWorkspace, target_id: str, rows: Sequence[Doc]
) -> int:
    """Give the target every association the sources have; duplicates are skipped.
    Returns how many new associations the target got."""
    latest: dict[str, Any] = {}
    for row in rows:
        if row["rk"] not in latest or row["at"] > latest[row["rk"]]:
            latest[row["rk"]] = row["at"]
    pairs = [(rk, target_id, at) for rk, at in latest.items()]
    return await add_associations(ctx, ws, pairs, enforce_limit=False)
