"""Applying tags to resources: add, remove, set.

A (resource, tag) pair exists at most once because of a unique index, so
concurrent identical requests add it once. Usage counters move only by what a
request actually inserted or deleted. After inserting, a request re-reads its
tags and the resources' tag counts: if a tag was deleted meanwhile, or a
resource went over its limit, it takes back exactly what it inserted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from resolvers.auth import TAGGINGS_WRITE, WRITE
from resolvers.clock import now
from resolvers.context import Context
from resolvers.drafts import Problems
from resolvers.errors import Problem, UserErrorCode, UserFailure, invalid
from resolvers.events import TagEventKind
from resolvers.rules import is_tag_id, name_key, normalize_name, normalize_resource_ref
from resolvers.tag_mutations import create
from storage import AuthorizedWorkspace, Doc, is_live
from storage.repair import recount
from storage.taggings import resource_key, split_key, tagging_doc

MAX_RESOURCES = 500
MAX_TAGS_PER_RESOURCE = 100


class Rollback(Exception):
    """What a request inserted had to be taken back; `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("rolled back")
        self.problems = problems


def _resources(raw: Sequence[Mapping[str, str]], problems: Problems) -> list[str]:
    """Resource keys in input order (duplicates kept); every bad ref reported."""
    if not 1 <= len(raw) <= MAX_RESOURCES:
        raise invalid(("resources",), f"Give 1 to {MAX_RESOURCES} resources.")
    keys = []
    for i, ref in enumerate(raw):
        checked = problems.check(
            partial(normalize_resource_ref, ref["type"], ref["id"], path=("resources", str(i)))
        )
        keys.append(resource_key(*checked) if checked else "")
    return keys


async def _tags_by_id(
    ctx: Context, ws: AuthorizedWorkspace, ids: Sequence[str], field: str, problems: Problems
) -> list[str]:
    found = (
        {
            d["_id"]
            for d in await ctx.store.tags.live_in_workspace(
                ws, [i for i in set(ids) if is_tag_id(i)]
            )
        }
        if ids
        else set()
    )
    for i, tag_id in enumerate(ids):
        if tag_id not in found:
            problems.add(Problem(UserErrorCode.NOT_FOUND, "Tag not found.", (field, str(i))))
    return [t for t in dict.fromkeys(ids) if t in found]


async def add_associations(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[tuple[str, str, datetime]],
    limit_paths: Mapping[str, tuple[str, ...]] | None = None,
    *,
    enforce_limit: bool = True,
) -> int:
    """Insert (resource key, tag id, time) associations; returns how many were new.

    Raises Rollback, having removed its own inserts, when a tag vanished or a
    resource went over its tag limit meanwhile. `enforce_limit=False` is for a
    merge: each resource gaining the target loses a source, so none ends up
    over the limit, though it is one over until the sources' rows are removed.
    """
    if not pairs:
        return 0
    docs = [tagging_doc(ws, rk, tag_id, at) for rk, tag_id, at in pairs]
    tag_ids = sorted({tag_id for _, tag_id, _ in pairs})

    async def undo() -> None:
        # What reached the store carries its _id: take exactly that back, then recount.
        await ctx.store.taggings.remove_written([d for d in docs if "_id" in d])
        await recount(ctx.store, tag_ids)

    async with ctx.completed_after_outage("adding tags to resources", undo):
        return await _insert_counted(ctx, ws, docs, limit_paths, enforce_limit)


async def _insert_counted(
    ctx: Context,
    ws: AuthorizedWorkspace,
    docs: list[Doc],
    limit_paths: Mapping[str, tuple[str, ...]] | None,
    enforce_limit: bool,
) -> int:
    written = [docs[i] for i in await ctx.store.taggings.insert(docs)]
    if not written:
        return 0
    tag_ids = sorted({d["tagId"] for d in written})
    alive = {d["_id"] for d in await ctx.store.tags.live_in_workspace(ws, tag_ids)}
    problems = []
    if any(t not in alive for t in tag_ids):
        problems.append(Problem(UserErrorCode.NOT_FOUND, "A tag was deleted meanwhile.", None))
    counts = (
        await ctx.store.taggings.counts_per_resource(ws, sorted({d["rk"] for d in written}))
        if enforce_limit
        else {}
    )
    over = sorted(rk for rk, n in counts.items() if n > MAX_TAGS_PER_RESOURCE)
    for rk in over:
        path = (limit_paths or {}).get(rk)
        problems.append(
            Problem(
                UserErrorCode.LIMIT_EXCEEDED,
                f"A resource can carry at most {MAX_TAGS_PER_RESOURCE} tags.",
                path,
            )
        )
    if problems:
        await ctx.store.taggings.remove_written(written)
        raise Rollback(problems)
    per_tag: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for d in written:
        per_tag[d["tagId"]][d["rtype"]] += 1
    for tag_id, by_type in per_tag.items():
        await ctx.store.tags.add_usage(tag_id, by_type)
        ctx.emit(TagEventKind.USAGE_CHANGED, tag_id, ws.id)
    return len(written)


async def remove_associations(
    ctx: Context, ws: AuthorizedWorkspace, pairs: Sequence[tuple[str, str]]
) -> int:
    """Delete (resource key, tag id) associations; returns how many existed."""
    grouped: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for rk, tag_id in pairs:
        grouped[(tag_id, split_key(rk)[0])].append(rk)
    removed = 0
    tag_ids = sorted({tag_id for tag_id, _ in grouped})

    async def recount_touched() -> None:
        await recount(ctx.store, tag_ids)

    async with ctx.completed_after_outage("removing tags from resources", recount_touched):
        # One call per (tag, type): the deleted count is then exactly what that counter loses.
        for (tag_id, rtype), rks in grouped.items():
            n = await ctx.store.taggings.remove(ws, tag_id, rks)
            if n:
                await ctx.store.tags.add_usage(tag_id, {rtype: -n})
                ctx.emit(TagEventKind.USAGE_CHANGED, tag_id, ws.id)
                removed += n
    return removed


def _limit_problems(
    keys: Sequence[str], current: Mapping[str, set[str]], adding: Mapping[str, set[str]]
) -> list[Problem]:
    problems = []
    reported: set[str] = set()
    for i, rk in enumerate(keys):
        if rk in reported:
            continue
        if len(current.get(rk, set()) | adding.get(rk, set())) > MAX_TAGS_PER_RESOURCE:
            reported.add(rk)
            problems.append(
                Problem(
                    UserErrorCode.LIMIT_EXCEEDED,
                    f"A resource can carry at most {MAX_TAGS_PER_RESOURCE} tags.",
                    ("resources", str(i)),
                )
            )
    return problems


async def _current_tags(
    ctx: Context, ws: AuthorizedWorkspace, keys: Sequence[str]
) -> dict[str, set[str]]:
    current: defaultdict[str, set[str]] = defaultdict(set)
    for row in await ctx.store.taggings.of_resources([ws.id], set(keys), ctx.principal.visibility):
        current[row["rk"]].add(row["tagId"])
    return current


def _paths(keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
    paths: dict[str, tuple[str, ...]] = {}
    for i, rk in enumerate(keys):
        paths.setdefault(rk, ("resources", str(i)))
    return paths


async def _create_missing(
    ctx: Context, ws: AuthorizedWorkspace, to_create: Mapping[str, tuple[str, int]]
) -> tuple[list[Doc], list[str]]:
    """Create the missing names: (created tags, ids of tags another request created first).

    Two requests may both find a name missing; the one that loses the race
    uses the tag the winner made instead of failing.
    """
    pending = dict(to_create)
    existing: list[str] = []
    for _attempt in range(3):
        try:
            created = await create(
                ctx,
                ws,
                [{"name": name} for name, _ in pending.values()],
                [("tagNames", str(i)) for _, i in pending.values()],
            )
            return created, existing
        except UserFailure as failure:
            if any(p.code is not UserErrorCode.NAME_TAKEN for p in failure.problems):
                raise
            found = await ctx.store.tags.by_name_keys(ws, list(pending))
            for doc in found:
                if is_live(doc) and doc["nameKey"] in pending:
                    del pending[doc["nameKey"]]
                    existing.append(doc["_id"])
            if not pending:
                return [], existing
    raise UserFailure.one(
        UserErrorCode.NAME_TAKEN, "The tag names keep changing; try again.", ("tagNames",)
    )


async def add_tags_to_resources(
    ctx: Context,
    workspace_id: str,
    resources: Sequence[Mapping[str, str]],
    tag_ids: Sequence[str] | None,
    tag_names: Sequence[str] | None,
    create_missing: bool,
) -> tuple[list[str], list[Doc], int]:
    ws = ctx.principal.workspace(workspace_id, WRITE if create_missing else TAGGINGS_WRITE)
    problems = Problems()
    keys = _resources(resources, problems)
    if not tag_ids and not tag_names:
        problems.add(Problem(UserErrorCode.VALIDATION, "Give tagIds or tagNames.", ("tagIds",)))
    ids = await _tags_by_id(ctx, ws, list(tag_ids or []), "tagIds", problems)
    names = [
        problems.check(partial(normalize_name, n, path=("tagNames", str(i))))
        for i, n in enumerate(tag_names or [])
    ]
    by_key = (
        {
            d["nameKey"]: d
            for d in await ctx.store.tags.by_name_keys(ws, {name_key(n) for n in names if n})
            if is_live(d)
        }
        if any(names)
        else {}
    )
    to_create: dict[str, tuple[str, int]] = {}
    for i, name in enumerate(names):
        if name is None:
            continue
        doc = by_key.get(name_key(name))
        if doc is not None:
            ids.append(doc["_id"])
        elif create_missing:
            to_create.setdefault(name_key(name), (name, i))
        else:
            problems.add(
                Problem(UserErrorCode.NOT_FOUND, "No tag has this name.", ("tagNames", str(i)))
            )
    problems.raise_any()
    ids = list(dict.fromkeys(ids))
    current = await _current_tags(ctx, ws, keys)
    wanted = set(ids) | {f"new:{k}" for k in to_create}
    adding = {rk: wanted - current.get(rk, set()) for rk in keys}
    limit = _limit_problems(keys, current, adding)
    if limit:
        raise UserFailure(limit)

    created, raced = await _create_missing(ctx, ws, to_create) if to_create else ([], [])
    all_ids = list(dict.fromkeys(ids + raced + [d["_id"] for d in created]))
    at = now()
    pairs = [
        (rk, t, at)
        for rk in dict.fromkeys(keys)
        for t in all_ids
        if t not in current.get(rk, set())
    ]
    try:
        added = await add_associations(ctx, ws, pairs, _paths(keys))
    except Rollback as rollback:
        if created:
            await ctx.store.tags.delete_ids(ws, [d["_id"] for d in created])
        raise UserFailure(rollback.problems) from None
    ctx.refresh_loaders()
    return keys, created, added


async def remove_tags_from_resources(
    ctx: Context, workspace_id: str, resources: Sequence[Mapping[str, str]], tag_ids: Sequence[str]
) -> tuple[list[str], int]:
    ws = ctx.principal.workspace(workspace_id, TAGGINGS_WRITE)
    problems = Problems()
    keys = _resources(resources, problems)
    ids = await _tags_by_id(ctx, ws, list(tag_ids), "tagIds", problems)
    problems.raise_any()
    removed = await remove_associations(
        ctx, ws, [(rk, t) for rk in dict.fromkeys(keys) for t in ids]
    )
    ctx.refresh_loaders()
    return keys, removed


async def set_resource_tags(
    ctx: Context, workspace_id: str, resource: Mapping[str, str], tag_ids: Sequence[str]
) -> tuple[str, int, int]:
    ws = ctx.principal.workspace(workspace_id, TAGGINGS_WRITE)
    problems = Problems()
    checked = problems.check(
        lambda: normalize_resource_ref(resource["type"], resource["id"], path=("resource",))
    )
    ids = await _tags_by_id(ctx, ws, list(tag_ids), "tagIds", problems)
    if len(ids) > MAX_TAGS_PER_RESOURCE:
        problems.add(
            Problem(
                UserErrorCode.LIMIT_EXCEEDED,
                f"A resource can carry at most {MAX_TAGS_PER_RESOURCE} tags.",
                ("tagIds",),
            )
        )
    problems.raise_any()
    assert checked is not None
    rk = resource_key(*checked)
    current = (await _current_tags(ctx, ws, [rk])).get(rk, set())
    at = now()
    try:
        added = await add_associations(
            ctx, ws, [(rk, t, at) for t in ids if t not in current], {rk: ("tagIds",)}
        )
    except Rollback as rollback:
        raise UserFailure(rollback.problems) from None
    removed = await remove_associations(ctx, ws, [(rk, t) for t in current if t not in set(ids)])
    ctx.refresh_loaders()
    return rk, added, removed
