"""importTags: read the file, plan the import, write it all or take it back.

The event loop is never held for long: the file is read and the import
planned in a worker thread (`asyncio.to_thread`), and the writes are calls of
at most `WRITE_BATCH` documents, with other requests served between them.

Round trips: one read of the workspace's tags (`in_depth_order`); then per
`WRITE_BATCH` (500) new tags one insert, per `UPDATE_BATCH` (250) changed
tags one bulk update; one count when tags were created; the history, one
insert and one update per 1 000 (HISTORY_BATCH) created or changed tags; the
events, one insert per 1 000. So per 1 000 rows: 2 inserts or 4 updates, plus
2 for their history and 1 for their events. A dry run makes the one read. An
import that creates a tag below a parent or moves one is a tree change: it
takes the workspace's tree lock (take and release, a renewal every 10 s) and
reads and plans again in its turn, 3 more.

There are no transactions. `write_import` is the one place an import writes:
it inserts the new tags (parents first), then updates the changed ones, and
on any failure takes back exactly what it wrote (deletes the new tags,
restores the changed fields of tags that still carry the import's change,
deletes its history entries). Each new or changed tag carries its IMPORTED
entry from its own write on (storage/history.py), so a crash after the writes
leaves the entries to repair.
A store failure or a cancellation between two steps leaves that same
take-back to the recovery journal, so an import that did not answer success
changed nothing once the store is back. A name or slug a concurrent request
took meanwhile makes the import take itself back and plan again (at most
`MAX_ATTEMPTS` times), where the taken name is then a userError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from config.limits import MAX_IMPORT_TAGS, MAX_TAGS_PER_WORKSPACE
from i18n import msg
from resolvers.authorization import WRITE
from resolvers.clock import now
from resolvers.context import Context
from resolvers.errors import Problems, UserErrorCode, UserFailure
from resolvers.events.bus import TagEventKind
from resolvers.history import TagChangeKind, change_entries
from resolvers.tags.io import csv_file, github_labels, json_file
from resolvers.tags.io.planner import Plan, Updated, plan
from resolvers.tags.io.rows import CONTENT, ImportMode, Row, TagFileFormat
from resolvers.tags.tree import TreeBusyError, tree_turn
from storage import AuthorizedWorkspace, Conflict, Doc, Held, PartialInsert
from storage.history import PENDING
from storage.tags import TagUpdate

# Documents per store call. An update costs SecantusDB about 3 ms a document (it
# rewrites every index entry of the tag) against under 1 ms an insert, so a
# call of each stays near a second on a busy machine, well within the store timeout.
WRITE_BATCH = 500
UPDATE_BATCH = 250
HISTORY_BATCH = 1000
MAX_ATTEMPTS = 3

# (stage, done, total): "reading" the file, "planning" its rows, "writing" (done counts
# the tags written so far).
Progress = Callable[[str, int, int], None]


def _report(progress: Progress | None, stage: str, done: int = 0, total: int = 0) -> None:
    if progress is not None:
        progress(stage, done, total)


_READERS = {
    TagFileFormat.JSON: json_file.read,
    TagFileFormat.CSV: csv_file.read,
    TagFileFormat.GITHUB_LABELS: github_labels.read,
}


def read_file(file_format: TagFileFormat, content: str) -> list[Row]:
    """The file's rows; UserFailure with every problem found when any row is unreadable."""
    problems = Problems()
    rows = _READERS[file_format](content, problems, MAX_IMPORT_TAGS)
    problems.raise_any()
    return rows


@dataclass(slots=True)
class ImportWrites:
    """What `write_import` wrote: every tag it created, and every tag it changed before
    and after. `moved` are tags no row names whose path changed below a moved row
    (only parentId/ancestors/depth differ)."""

    created: list[Doc] = field(default_factory=list)
    updated: list[tuple[Doc, Doc]] = field(default_factory=list)
    moved: list[tuple[Doc, Doc]] = field(default_factory=list)


@dataclass(slots=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    # The created and updated tags as they are now; empty on a dry run.
    tags: list[Doc]


def _batches(items: Sequence[Updated], size: int) -> list[Sequence[Updated]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _forward(update: Updated, entry: Doc | None) -> TagUpdate:
    return TagUpdate(
        update.before["_id"],
        update.changes,
        expected={"deleting": {"$exists": False}},
        pending=entry,
    )


def _back(update: Updated, entry: Doc | None) -> TagUpdate:
    """Restores what `update` changed, only on a tag that still carries that change:
    a row's tag its `updatedAt`, a moved descendant its new path."""
    before = update.before
    restore = {k: before[k] for k in update.changes if k in before}
    gone = [k for k in update.changes if k not in before]
    mark = "updatedAt" if "updatedAt" in update.changes else "ancestors"
    return TagUpdate(
        before["_id"],
        restore,
        gone,
        expected={mark: update.changes[mark]},
        unpending=entry["_id"] if entry is not None else None,
    )


class _Writer:
    """The steps of one import's writes, and taking them back."""

    def __init__(self, ctx: Context, ws: AuthorizedWorkspace, the_plan: Plan) -> None:
        self.store = ctx.store.tags
        self.history = ctx.store.history
        self.ws = ws
        self.plan = the_plan
        self.changes = [*the_plan.updated, *the_plan.moved]
        # What was sent so far (a call cut short may have been applied or not).
        self.sent: list[Updated] = []
        # One IMPORTED entry per created or updated tag (a moved descendant's
        # fields do not change), by tag id; each new tag carries its own.
        self.entries = change_entries(
            ctx,
            ws.id,
            TagChangeKind.IMPORTED,
            [u.before for u in the_plan.updated],
            [*(c.doc for c in the_plan.created), *(u.after for u in the_plan.updated)],
            at=now(),
        )
        self.entry_of = {e["tagId"]: e for e in self.entries}
        for created in the_plan.created:
            created.doc[PENDING] = [self.entry_of[created.doc["_id"]]]

    async def take_back(self) -> None:
        """Idempotent: deletes the import's new tags and history entries, restores
        what it changed."""
        ids = [c.doc["_id"] for c in self.plan.created]
        for start in range(0, len(ids), WRITE_BATCH * 2):
            await self.store.delete_ids(self.ws, ids[start : start + WRITE_BATCH * 2])
        for batch in _batches(self.sent, UPDATE_BATCH):
            await self.store.update_each(
                self.ws, [_back(u, self.entry_of.get(u.before["_id"])) for u in batch]
            )
        for start in range(0, len(self.entries), HISTORY_BATCH):
            await self.history.delete(e["_id"] for e in self.entries[start : start + HISTORY_BATCH])

    async def record(self) -> None:
        """Copy the entries the written tags carry to the history, then take them off."""
        for start in range(0, len(self.entries), HISTORY_BATCH):
            batch = self.entries[start : start + HISTORY_BATCH]
            await self.history.insert(batch)
            await self.history.clear_pending([e["tagId"] for e in batch], [e["_id"] for e in batch])

    async def write(self, held: Held | None, progress: Progress | None) -> None:
        created = [c.doc for c in self.plan.created]
        total, done = len(created) + len(self.changes), 0
        for start in range(0, len(created), WRITE_BATCH):
            batch = created[start : start + WRITE_BATCH]
            if held is not None:
                held.ensure()
            await self.store.insert_many(batch)
            done += len(batch)
            _report(progress, "writing", done, total)
        for changes in _batches(self.changes, UPDATE_BATCH):
            if held is not None:
                held.ensure()
            self.sent.extend(changes)
            await self.store.update_each(
                self.ws, [_forward(u, self.entry_of.get(u.before["_id"])) for u in changes]
            )
            done += len(changes)
            _report(progress, "writing", done, total)
        # Checked after writing, so that concurrent creators cannot both slip under it.
        if created and await self.store.count_workspace(self.ws) > MAX_TAGS_PER_WORKSPACE:
            await self.take_back()
            raise UserFailure.one(
                UserErrorCode.LIMIT_EXCEEDED,
                msg("A workspace can hold at most {max} tags.", max=MAX_TAGS_PER_WORKSPACE),
                (CONTENT,),
            )


async def write_import(
    ctx: Context,
    ws: AuthorizedWorkspace,
    the_plan: Plan,
    held: Held | None,
    progress: Progress | None = None,
) -> ImportWrites:
    """The one place an import writes. Returns every document before and after;
    raises `Conflict` after taking everything back when the store refused a name or
    slug (the caller plans again), UserFailure when the workspace would overflow."""
    writer = _Writer(ctx, ws, the_plan)
    fix = held.fix_up(writer.take_back) if held is not None else writer.take_back
    async with ctx.completed_after_outage("importing tags", fix):
        try:
            await writer.write(held, progress)
        except (Conflict, PartialInsert):
            await writer.take_back()
            raise Conflict("name") from None
        # Within the block: an import cut short here is taken back, entries too.
        await writer.record()
    return ImportWrites(
        created=[c.doc for c in the_plan.created],
        updated=[(u.before, u.after) for u in the_plan.updated],
        moved=[(u.before, u.after) for u in the_plan.moved],
    )


async def _plan(
    ctx: Context,
    ws: AuthorizedWorkspace,
    rows: Sequence[Row],
    mode: ImportMode,
    progress: Progress | None,
) -> Plan:
    _report(progress, "planning", 0, len(rows))
    docs = await ctx.store.tags.in_depth_order(ws, live_only=False)
    return await asyncio.to_thread(
        plan, rows, docs, mode, ws_id=ws.id, creator=ctx.principal.id, at=now()
    )


def _finish(ctx: Context, ws: AuthorizedWorkspace, writes: ImportWrites) -> list[Doc]:
    after = [*writes.created, *(a for _, a in writes.updated)]
    ctx.refresh_loaders()
    ctx.loaders.prime_tags([*after, *(a for _, a in writes.moved)])
    for doc in writes.created:
        ctx.emit(TagEventKind.CREATED, doc["_id"], ws.id)
    for _, doc in writes.updated:
        ctx.emit(TagEventKind.UPDATED, doc["_id"], ws.id)
    return after


async def import_tags(
    ctx: Context,
    workspace_id: str,
    file_format: TagFileFormat,
    content: str,
    mode: ImportMode = ImportMode.MERGE,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    ws = ctx.principal.workspace(workspace_id, WRITE)
    _report(progress, "reading")
    rows = await asyncio.to_thread(read_file, file_format, content)
    for _attempt in range(MAX_ATTEMPTS):
        the_plan = await _plan(ctx, ws, rows, mode, progress)
        if dry_run:
            return ImportResult(
                len(the_plan.created), len(the_plan.updated), the_plan.unchanged, []
            )
        try:
            if the_plan.touches_tree:
                # A tree change: decided again from the tree as it is in this turn.
                async with tree_turn(ctx, ws) as held:
                    the_plan = await _plan(ctx, ws, rows, mode, progress)
                    writes = await write_import(ctx, ws, the_plan, held, progress)
            else:
                writes = await write_import(ctx, ws, the_plan, None, progress)
        except Conflict:
            continue  # a concurrent request took a name or slug: plan again
        tags = _finish(ctx, ws, writes)
        return ImportResult(len(writes.created), len(writes.updated), the_plan.unchanged, tags)
    raise TreeBusyError()
