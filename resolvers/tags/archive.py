"""Archiving and restoring tags (contract 1.2).

An archived tag is retired, not deleted: it keeps its id, names, aliases, place
in the tree and every association, so old resources still show it. `tags`
leaves it out unless `filter.archived` asks for it, and nothing may apply it
to a resource: every path that applies tags names it with `archived_problem`
(VALIDATION), and a tag archived while a request was writing is taken back by
that request (resolvers/associations.py). Its document carries `archived:
true` and `archivedAt` while archived (storage/tags.py).

The state change is one update of at most 100 documents, each changed
atomically, and repeating it changes nothing: no step depends on another, so it
takes no tree turn. `write_archived_state` is the one place it is written; the
same statement gives each changed tag its history stub (storage/history.py),
copied to the history after, by the recovery journal if the store fails first.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from config.limits import MAX_ARCHIVE_IDS
from i18n import N_, msg
from resolvers.authorization import WRITE
from resolvers.clock import now
from resolvers.context import Context
from resolvers.errors import Problem, UserErrorCode, invalid
from resolvers.events.bus import TagEventKind
from resolvers.history import (
    TagChangeKind,
    change_entries,
    copied_after_outage,
    flush,
    new_change_base,
)
from resolvers.normalization import is_tag_id
from storage import AuthorizedWorkspace, Doc
from storage.history import stub
from storage.tags import ARCHIVE_OPS, is_archived

ARCHIVED_MESSAGE = N_("This tag is archived; restore it before applying it.")


def archived_problem(field: Sequence[str]) -> Problem:
    """VALIDATION: the tag named at `field` is archived, so it cannot be applied."""
    return Problem(UserErrorCode.VALIDATION, ARCHIVED_MESSAGE, tuple(field))


async def archive_tags(
    ctx: Context, workspace_id: str, ids: Sequence[str]
) -> tuple[list[Doc], list[str]]:
    """archiveTags: (the named tags as they are now, in the order of `ids`; not found ids)."""
    return await _set_state(ctx, workspace_id, ids, archived=True)


async def restore_tags(
    ctx: Context, workspace_id: str, ids: Sequence[str]
) -> tuple[list[Doc], list[str]]:
    """restoreTags: as archive_tags."""
    return await _set_state(ctx, workspace_id, ids, archived=False)


async def _set_state(
    ctx: Context, workspace_id: str, ids: Sequence[str], *, archived: bool
) -> tuple[list[Doc], list[str]]:
    # Access first: a caller without it learns nothing from the input rules.
    ws = ctx.principal.workspace(workspace_id, WRITE)
    if not 1 <= len(ids) <= MAX_ARCHIVE_IDS:
        raise invalid(("ids",), msg("Give 1 to {max} ids.", max=MAX_ARCHIVE_IDS))
    wanted = list(dict.fromkeys(ids))
    # Another workspace's ids, malformed ones and tags on their way out are all
    # simply not found, as in deleteTags.
    before = await ctx.store.tags.live_in_workspace(ws, [i for i in wanted if is_tag_id(i)])
    changed = await write_archived_state(ctx, ws, before, archived, now())
    mine = {after["_id"]: after for _, after in changed}
    current = {d["_id"]: d for d in before} | mine
    # Tags a concurrent call changed first: shown as they are now (a read only then).
    raced = [d["_id"] for d in before if is_archived(d) != archived and d["_id"] not in mine]
    if raced:
        reread = await ctx.loaders.tag_by_id.load_many(raced)
        current.update((tag_id, doc) for tag_id, doc in zip(raced, reread, strict=True) if doc)
    ctx.loaders.prime_tags(current.values())
    return [current[i] for i in wanted if i in current], [i for i in wanted if i not in current]


async def write_archived_state(
    ctx: Context,
    ws: AuthorizedWorkspace,
    tags_before: Sequence[Doc],
    archived: bool,
    at: datetime,
) -> list[tuple[Doc, Doc]]:
    """Archive (`archived`) or restore the tags of `tags_before`, as the request read them.

    Returns (before, after) of every tag this call changed, in the order given;
    tags already in that state are left as they are (no write, no event). Each
    changed tag gets `updatedAt = at` (and `archivedAt = at` when archived) and
    one ARCHIVED or RESTORED event. A tag a concurrent call changed to the same
    state first is that call's, not this one's. `after` is the tag as read back
    right after the write (a concurrent change since may show in it); a tag
    deleted in between is left out.
    """
    pending = [t for t in tags_before if is_archived(t) != archived]
    if not pending:
        return []
    store = ctx.store.tags
    op = secrets.token_hex(8)
    ids = [t["_id"] for t in pending]
    change_kind = TagChangeKind.ARCHIVED if archived else TagChangeKind.RESTORED
    base = new_change_base()
    carried = stub(base, ws.id, change_kind.value, actor=ctx.principal.id, at=at)
    # A write whose answer an outage lost may have landed, its stubs with it.
    async with copied_after_outage(ctx, ids):
        modified = await store.set_archived(ws, ids, archived, at, op, pending=carried)
        if not modified:
            return []
        after = {d["_id"]: d for d in await store.in_workspace(ws, ids)}
    changed: list[tuple[Doc, Doc]] = []
    for before in pending:
        doc = after.get(before["_id"])
        # Fewer changed than asked: a concurrent call changed some first (or has
        # changed ours back since). Ours are the ones this call's id is on.
        if doc is not None and (modified == len(pending) or op in doc.get(ARCHIVE_OPS, ())):
            changed.append((before, doc))
    entries = change_entries(
        ctx,
        ws.id,
        change_kind,
        [b for b, _ in changed],
        [a for _, a in changed],
        at=at,
        base=base,
    )
    await flush(ctx, entries, pending=True)
    ctx.refresh_loaders()
    ctx.loaders.prime_tags([doc for _, doc in changed])
    kind = TagEventKind.ARCHIVED if archived else TagEventKind.RESTORED
    for _, doc in changed:
        ctx.emit(kind, doc["_id"], ws.id)
    return changed
