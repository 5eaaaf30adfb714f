"""Changes to a workspace's tag tree take turns (storage/tree_locks.py).

A move, delete, merge or creation below a parent holds its workspace's tree
lock from the moment it reads the tree it decides on until its last write, so
no other tree change can slip in between and make that decision stale. It
re-reads every tag it decides on inside its turn: what the request read before
(the loaders) may already be out of date.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from graphql import GraphQLError

from i18n import N_
from resolvers.context import Context
from resolvers.errors import ErrorCode
from storage import AuthorizedWorkspace, Held, TreeBusy
from storage.repair import complete_workspace

TREE_BUSY = N_(
    "Other changes to this workspace's tags kept this change waiting too long; "
    "nothing was changed. Try again."
)


class TreeBusyError(GraphQLError):
    """A top-level error: the change was refused before it wrote anything."""

    def __init__(self) -> None:
        super().__init__(TREE_BUSY, extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value})


@contextlib.asynccontextmanager
async def tree_turn(ctx: Context, ws: AuthorizedWorkspace) -> AsyncIterator[Held]:
    """Hold the workspace's tree for the block; TreeBusyError if the turn never came."""
    store = ctx.store

    async def complete_abandoned_change() -> None:
        await complete_workspace(store, ws.id)

    try:
        async with store.tree_locks.hold(ws.id, on_takeover=complete_abandoned_change) as held:
            yield held
    except TreeBusy:
        raise TreeBusyError() from None
