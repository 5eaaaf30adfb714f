"""Writing (resource, tag) associations with their usage counters, and taking them back.

Used by both domain packages: `taggings/` (add, remove, set the tags of
resources) and `tags/` (a merge moves the sources' associations onto its
target). It lives below them rather than in `taggings/` so that `tags/` never
imports `taggings/`, which imports `tags/` to create missing tags.

A (resource, tag) pair exists at most once because of a unique index, so
concurrent identical requests add it once. Usage counters move only by what a
request actually inserted or deleted. After inserting, a request re-reads its
tags and the resources' tag counts: if a tag was deleted meanwhile, or a
resource went over its limit, it takes back exactly what it inserted.

Every step is a bounded number of batched store calls, whatever the number of
resources: inserts and deletes go about a thousand associations per call (the
event loop serves other requests in between), and the counters of every
touched tag move in one bulk of `$inc`. A request's write-then-count section
runs under the recovery journal's counter guard, so that a recount after an
outage never reads the associations between a request's write and its `$inc`.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from config.limits import MAX_TAGS_PER_RESOURCE
from i18n import msg
from resolvers.context import Context
from resolvers.errors import Problem, UserErrorCode
from resolvers.events.bus import TagEventKind
from storage import AuthorizedWorkspace, Doc
from storage.repair import recount
from storage.taggings import CHUNK, RESOURCES_PER_READ, split_key, tagging_doc
from storage.tags import is_archived


class Rollback(Exception):
    """What a request inserted had to be taken back; `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("rolled back")
        self.problems = problems


async def _docs(ws: AuthorizedWorkspace, pairs: Sequence[tuple[str, str, datetime]]) -> list[Doc]:
    """The documents of many associations, yielding to the event loop between chunks."""
    docs: list[Doc] = []
    for start in range(0, len(pairs), CHUNK):
        if start:
            await asyncio.sleep(0)
        docs += [tagging_doc(ws, rk, tag_id, at) for rk, tag_id, at in pairs[start : start + CHUNK]]
    return docs


async def recount_guarded(ctx: Context, tag_ids: list[str]) -> None:
    """Recount these tags' counters, with no request of this process halfway through moving them."""
    async with ctx.store.recovery.counters.recounting(tag_ids):
        await recount(ctx.store, tag_ids)


async def add_associations(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[tuple[str, str, datetime]],
    limit_paths: Mapping[str, tuple[str, ...]] | None = None,
    *,
    enforce_limit: bool = True,
    slots: Mapping[str, str] | None = None,
    leaving: Mapping[str, int] | None = None,
    allow_archived: bool = False,
) -> int:
    """Insert (resource key, tag id, time) associations; returns how many were new.

    Raises Rollback, having removed its own inserts, when a tag vanished or a
    resource went over its tag limit meanwhile. `enforce_limit=False` is for a
    merge: each resource gaining the target loses a source, so none ends up
    over the limit, though it is one over until the sources' rows are removed.
    `slots`: the exclusive parent of each tag that has one (resolvers.taggings.
    exclusive); such an association is not written while the resource holds
    another child of that parent in the slot. `leaving`: how many tags the same
    request removes from a resource right after (setResourceTags), which the
    limit does not count. (1.2) A tag archived meanwhile is taken back like a
    deleted one, unless `allow_archived` (a merge moving associations, or
    replaced associations put back: nothing new is applied).
    """
    if not pairs:
        return 0
    docs = await _docs(ws, pairs)
    slot_of = slots or {}
    if slot_of:
        for doc in docs:
            if doc["tagId"] in slot_of:
                doc["slot"] = slot_of[doc["tagId"]]
    tag_ids = sorted({tag_id for _, tag_id, _ in pairs})
    # Whether the counters may have moved: until the `$inc` is sent they have not,
    # and taking back the inserts is all an undo needs (no recount, no race).
    counting = [False]

    async def undo() -> None:
        # What reached the store carries its _id: take exactly that back.
        await ctx.store.taggings.remove_written([d for d in docs if "_id" in d])
        if counting[0]:
            await recount_guarded(ctx, tag_ids)

    async with (
        ctx.completed_after_outage("adding tags to resources", undo),
        ctx.store.recovery.counters.writing(tag_ids),
    ):
        return await _insert_counted(
            ctx, ws, docs, limit_paths, enforce_limit, leaving or {}, counting, allow_archived
        )


async def _insert_counted(
    ctx: Context,
    ws: AuthorizedWorkspace,
    docs: list[Doc],
    limit_paths: Mapping[str, tuple[str, ...]] | None,
    enforce_limit: bool,
    leaving: Mapping[str, int],
    counting: list[bool],
    allow_archived: bool,
) -> int:
    written = [docs[i] for i in await ctx.store.taggings.insert(docs)]
    if not written:
        return 0
    tag_ids = sorted({d["tagId"] for d in written})
    live = await ctx.store.tags.live_in_workspace(ws, tag_ids)
    alive = {d["_id"] for d in live}
    problems = []
    if any(t not in alive for t in tag_ids):
        problems.append(Problem(UserErrorCode.NOT_FOUND, "A tag was deleted meanwhile.", None))
    if not allow_archived and any(is_archived(d) for d in live):
        # Archived after this request checked it: what it wrote would apply it.
        problems.append(Problem(UserErrorCode.VALIDATION, "A tag was archived meanwhile.", None))
    counts = (
        await ctx.store.taggings.counts_per_resource(ws, sorted({d["rk"] for d in written}))
        if enforce_limit
        else {}
    )
    over = sorted(rk for rk, n in counts.items() if n - leaving.get(rk, 0) > MAX_TAGS_PER_RESOURCE)
    for rk in over:
        path = (limit_paths or {}).get(rk)
        problems.append(
            Problem(
                UserErrorCode.LIMIT_EXCEEDED,
                msg("A resource can carry at most {max} tags.", max=MAX_TAGS_PER_RESOURCE),
                path,
            )
        )
    if problems:
        await ctx.store.taggings.remove_written(written)
        raise Rollback(problems)
    per_tag: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for d in written:
        per_tag[d["tagId"]][d["rtype"]] += 1
    counting[0] = True
    await ctx.store.tags.add_usage_many(per_tag)
    for tag_id in per_tag:
        ctx.emit(TagEventKind.USAGE_CHANGED, tag_id, ws.id)
    return len(written)


async def remove_associations(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[tuple[str, str]],
    present: Mapping[str, set[str]] | None = None,
) -> int:
    """Delete (resource key, tag id) associations; returns how many existed.

    `present`: each resource's tags as the caller just read them (read here
    when not given). Counters move by what was read; if the store deleted
    another number (a concurrent request removed some first), the touched
    tags are recounted instead.
    """
    if not pairs:
        return 0
    if present is None:
        present = defaultdict(set)
        for row in await ctx.store.taggings.of_resources(
            [ws.id],
            sorted({rk for rk, _ in pairs}),
            ctx.principal.visibility,
            per_call=RESOURCES_PER_READ,
        ):
            present[row["rk"]].add(row["tagId"])
    tags_of: defaultdict[str, list[str]] = defaultdict(list)
    per_tag: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for rk, tag_id in dict.fromkeys(pairs):
        if tag_id in present.get(rk, ()):
            tags_of[rk].append(tag_id)
            per_tag[tag_id][split_key(rk)[0]] -= 1
    expected = sum(len(t) for t in tags_of.values())
    if not expected:
        return 0
    tag_ids = sorted(per_tag)

    async def recount_touched() -> None:
        await recount_guarded(ctx, tag_ids)

    async with ctx.completed_after_outage("removing tags from resources", recount_touched):
        async with ctx.store.recovery.counters.writing(tag_ids):
            removed = await ctx.store.taggings.remove_pairs(ws, tags_of)
            if removed == expected:
                await ctx.store.tags.add_usage_many(per_tag)
        if removed != expected:
            await recount_guarded(ctx, tag_ids)
    for tag_id in tag_ids:
        ctx.emit(TagEventKind.USAGE_CHANGED, tag_id, ws.id)
    return removed


async def move_taggings(
    ctx: Context, ws: AuthorizedWorkspace, target_id: str, rows: Sequence[Doc]
) -> int:
    """Give a merge's target every association its sources have; duplicates are skipped.
    Returns how many new associations the target got."""
    latest: dict[str, Any] = {}
    for row in rows:
        if row["rk"] not in latest or row["at"] > latest[row["rk"]]:
            latest[row["rk"]] = row["at"]
    pairs = [(rk, target_id, at) for rk, at in latest.items()]
    # A merge decided on its target in its tree turn; one archived since still gets them.
    return await add_associations(ctx, ws, pairs, enforce_limit=False, allow_archived=True)
