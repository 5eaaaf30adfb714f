"""(1.2) The change history: recording each change of a tag, and reading it back.

Every mutation that changes tags records one entry per tag it changed, after
its own checks passed (a refused change records nothing). Create and update
write the entry with the change itself (`pending_entry`, then `flush`); delete
and merge carry it in the tags' flag (`flag_change`); anything else calls
`record_changes` after its write. A store failure while copying an entry
leaves it to the recovery journal; storage/history.py says how a crash is
covered.
"""

from __future__ import annotations

import contextlib
import enum
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from config.limits import MAX_IDS_PER_LOOKUP
from i18n import msg
from resolvers.authorization import READ
from resolvers.clock import now
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.normalization import has_forbidden_chars, is_tag_id
from resolvers.pagination import Page, PageArgs, encode_cursor, page_args, read_page
from storage import AuthorizedWorkspace, Doc
from storage.history import entry

CURSOR_KIND = "CHANGES"
# TagChange ids: "chg_" and the entry's 48 hex digits (storage/history.py).
CHANGE_ID = re.compile(r"chg_[0-9a-f]{48}")
# As for the createdBy filter: no principal id is longer.
MAX_ACTOR_LENGTH = 1024
HISTORY_LABEL = "recording the change history"
FixUp = Callable[[], Awaitable[None]]


class TagChangeKind(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ARCHIVED = "ARCHIVED"
    RESTORED = "RESTORED"
    DELETED = "DELETED"
    MERGED = "MERGED"
    IMPORTED = "IMPORTED"


def new_change_base() -> str:
    """24 hex digits: milliseconds first, so one change's entries sort by time too."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def node_id(entry_id: str) -> str:
    return "chg_" + entry_id


def is_change_id(value: str) -> bool:
    return CHANGE_ID.fullmatch(value) is not None


# Recording -----------------------------------------------------------------------


def change_entries(
    ctx: Context,
    workspace_id: str,
    kind: TagChangeKind,
    before: Sequence[Doc],
    after: Sequence[Doc],
    *,
    merged_into_id: str | None = None,
    at: Any = None,
    base: str | None = None,
) -> list[Doc]:
    """One entry per tag in `before` or `after` (stored documents, paired by id),
    by the request's principal, now. A tag whose fields did not change gets none
    for UPDATED and IMPORTED (every other kind is an entry however few fields moved)."""
    at = at if at is not None else now()
    base = base or new_change_base()
    old = {d["_id"]: d for d in before}
    new = {d["_id"]: d for d in after}
    found = []
    for tag_id in dict.fromkeys([*new, *old]):
        made = entry(
            base,
            workspace_id,
            kind.value,
            tag_id,
            old.get(tag_id),
            new.get(tag_id),
            actor=ctx.principal.id,
            at=at,
            merged_into_id=merged_into_id,
        )
        if made is not None:
            found.append(made)
    return found


def copy_later(ctx: Context, tag_ids: Sequence[str]) -> FixUp:
    """The fix-up that copies what these tags still carry (`changesPending`) to the
    history: for the steps after a change's write that a store failure may cut."""
    ids = list(tag_ids)

    async def copy() -> None:
        await ctx.store.history.copy_pending(ids)

    return copy


@contextlib.asynccontextmanager
async def copied_after_outage(ctx: Context, tag_ids: Sequence[str]) -> AsyncIterator[None]:
    """Steps between a change's write (its entries in its tags) and `flush`."""
    async with ctx.completed_after_outage(HISTORY_LABEL, copy_later(ctx, tag_ids)):
        yield


async def flush(ctx: Context, entries: Sequence[Doc], *, pending: bool) -> None:
    """Copy entries to the history; `pending`: they also sit in their tags'
    `changesPending` (written with the change) and are taken off them."""
    if not entries:
        return
    store = ctx.store.history
    entry_ids = [e["_id"] for e in entries]
    tag_ids = [e["tagId"] for e in entries]

    async def write() -> None:
        await store.insert(entries)

    # Entries the tags carry are copied from there (none of a tag taken back since).
    fix = copy_later(ctx, tag_ids) if pending else write
    async with ctx.completed_after_outage(HISTORY_LABEL, fix):
        await store.insert(entries)
        if pending:
            await store.clear_pending(tag_ids, entry_ids)


async def record_changes(
    ctx: Context,
    workspace_id: str,
    kind: TagChangeKind,
    before: Sequence[Doc],
    after: Sequence[Doc],
    *,
    merged_into_id: str | None = None,
) -> None:
    """Record a change already written: one entry per tag (see change_entries).

    Call it after the change's own checks passed, before answering. Cut short
    by the store, the entries are written by the recovery journal once it
    answers again (the request fails as any store failure does).
    """
    entries = change_entries(ctx, workspace_id, kind, before, after, merged_into_id=merged_into_id)
    await flush(ctx, entries, pending=False)


def flag_change(ctx: Context, kind: TagChangeKind, target: Doc | None = None) -> dict[str, Any]:
    """What a delete's or merge's flag carries for the history (and repair):
    the change's id, kind, actor and time; a merge's entry of its target."""
    change: dict[str, Any] = {
        "id": new_change_base(),
        "kind": kind.value,
        "actor": ctx.principal.id,
        "at": now(),
    }
    if target is not None:
        change["target"] = target
    return change


# Reading ------------------------------------------------------------------------


def _change_key(doc: Mapping[str, Any]) -> list[Any]:
    return [doc["at"], doc["_id"]]


def change_cursors(page: Page) -> list[str]:
    return [encode_cursor(CURSOR_KIND, key) for key in page.keys]


def _args(first: int | None, after: str | None) -> PageArgs:
    return page_args(CURSOR_KIND, first, after, None, None)


def _actor(actor: str | None) -> str | None:
    if actor is not None and has_forbidden_chars(actor):
        raise BadUserInput("actor must not contain control characters.")
    return actor


async def tag_changes(
    ctx: Context,
    workspace_id: str,
    tag_id: str | None,
    actor: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    """Query.tagChanges: the workspace's entries, newest first, optionally one tag's
    or one actor's. An id that no tag can have, or an actor id longer than any
    principal's, matches nothing (without asking the store)."""
    ws = ctx.principal.workspace(workspace_id, READ)
    args = _args(first, after)
    actor = _actor(actor)
    nothing = (tag_id is not None and not is_tag_id(tag_id)) or (
        actor is not None and len(actor) > MAX_ACTOR_LENGTH
    )
    history = ctx.store.history

    async def fetch(limit: int) -> list[Doc]:
        if nothing:
            return []
        return await history.page(ws, tag_id=tag_id, actor=actor, after=args.after, limit=limit)

    async def beyond(values: Sequence[Any], forward: bool) -> bool:
        if nothing:
            return False
        # Pages are only read forward (first/after): the other side is the newer one.
        return await history.exists_before(ws, values, tag_id=tag_id, actor=actor)

    async def count() -> int:
        return 0 if nothing else await history.count(ws, tag_id=tag_id, actor=actor)

    return await read_page(args, fetch, _change_key, beyond, count)


async def tag_history(ctx: Context, tag: Doc, first: int | None, after: str | None) -> Page:
    """Tag.history: this tag's entries; the first `limit + 1` of every tag of a
    page come from one batched call (`history_by_tag_id`)."""
    ctx.principal.require(READ)
    args = _args(first, after)
    ws = AuthorizedWorkspace(tag["ws"])
    cursor = tuple(args.after) if args.after is not None else None
    history = ctx.store.history

    async def fetch(limit: int) -> list[Doc]:
        return await ctx.loaders.history_by_tag_id.load((tag["ws"], tag["_id"], cursor, limit))

    async def beyond(values: Sequence[Any], forward: bool) -> bool:
        return await history.exists_before(ws, values, tag_id=tag["_id"], actor=None)

    async def count() -> int:
        return await history.count(ws, tag_id=tag["_id"], actor=None)

    return await read_page(args, fetch, _change_key, beyond, count)


async def change_by_id(ctx: Context, change_id: str) -> Doc | None:
    """node(id:) of a TagChange: null when unknown or in a workspace the caller cannot see."""
    ctx.principal.require(READ)
    if not is_change_id(change_id):
        return None
    return await ctx.loaders.change_by_id.load(change_id.removeprefix("chg_"))


async def changes_by_ids(ctx: Context, ids: Sequence[str]) -> dict[str, Doc]:
    """nodes(ids:): the TagChanges among `ids`, keyed by their node id."""
    ctx.principal.require(READ)
    if len(ids) > MAX_IDS_PER_LOOKUP:
        raise BadUserInput(msg("At most {max} ids.", max=MAX_IDS_PER_LOOKUP))
    wanted = [i.removeprefix("chg_") for i in ids if is_change_id(i)]
    docs = await ctx.loaders.change_by_id.load_many(wanted)
    return {node_id(d["_id"]): d for d in docs if d is not None}
