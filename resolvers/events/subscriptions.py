"""`tagEvents`: live changes of one workspace, for callers who may read it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from resolvers.authorization import READ
from resolvers.context import Context
from resolvers.events.bus import TagEventKind, TagEventRecord
from storage import Doc


async def tag_events(
    ctx: Context, workspace_id: str
) -> AsyncIterator[tuple[TagEventRecord, Doc | None]]:
    ws = ctx.principal.workspace(workspace_id, READ)
    if ctx.bus is None:
        return
    async for event in ctx.bus.subscribe(ws.id):
        # A long-lived connection must not answer from what it loaded for an
        # earlier event: every event gets fresh loaders.
        ctx.refresh_loaders()
        doc = None
        if event.kind is not TagEventKind.DELETED:
            doc = await ctx.loaders.tag.load(event.tag_id)
        yield event, doc
