"""Applying tags to resources: add, remove, set (the writes are in resolvers/associations.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from config.limits import MAX_RESOURCES_PER_BATCH, MAX_TAGS_PER_RESOURCE
from i18n import N_, msg
from resolvers.associations import (
    Rollback,
    add_associations,
    remove_associations,
)
from resolvers.authorization import TAGGINGS_WRITE, WRITE
from resolvers.clock import now
from resolvers.context import Context
from resolvers.errors import (
    Problem,
    Problems,
    UserErrorCode,
    UserFailure,
    invalid,
    missing,
    taken,
)
from resolvers.normalization import is_tag_id, name_key, normalize_name, normalize_resource_ref
from resolvers.taggings import exclusive
from resolvers.tags.archive import archived_problem
from resolvers.tags.mutations import create
from storage import AuthorizedWorkspace, Doc, is_live
from storage.taggings import RESOURCES_PER_READ, resource_key
from storage.tags import is_archived, name_keys_of


def _resources(raw: Sequence[Mapping[str, str]], problems: Problems) -> list[str]:
    """Resource keys in input order (duplicates kept); every bad ref reported."""
    if not 1 <= len(raw) <= MAX_RESOURCES_PER_BATCH:
        raise invalid(
            ("resources",), msg("Give 1 to {max} resources.", max=MAX_RESOURCES_PER_BATCH)
        )
    keys = []
    for i, ref in enumerate(raw):
        checked = problems.check(
            partial(normalize_resource_ref, ref["type"], ref["id"], path=("resources", str(i)))
        )
        keys.append(resource_key(*checked) if checked else "")
    return keys


async def _tags_by_id(
    ctx: Context,
    ws: AuthorizedWorkspace,
    ids: Sequence[str],
    field: str,
    problems: Problems,
    docs: dict[str, Doc] | None = None,
) -> list[str]:
    """The live tags of `ids`, in order, once each; `docs` receives their documents."""
    found = (
        {
            d["_id"]: d
            for d in await ctx.store.tags.live_in_workspace(
                ws, [i for i in set(ids) if is_tag_id(i)]
            )
        }
        if ids
        else {}
    )
    for i, tag_id in enumerate(ids):
        if tag_id not in found:
            problems.add(missing((field, str(i))))
    if docs is not None:
        docs.update(found)
    return [t for t in dict.fromkeys(ids) if t in found]


def _refuse_archived(
    ids: Sequence[str],
    docs: Mapping[str, Doc],
    field: str,
    problems: Problems,
    kept: set[str] | frozenset[str] = frozenset(),
) -> None:
    """(1.2) VALIDATION for each id naming an archived tag: it cannot be applied.
    `kept`: tags the resource already carries, which staying on it does not apply."""
    for i, tag_id in enumerate(ids):
        doc = docs.get(tag_id)
        if doc is not None and is_archived(doc) and tag_id not in kept:
            problems.add(archived_problem((field, str(i))))


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
                    msg("A resource can carry at most {max} tags.", max=MAX_TAGS_PER_RESOURCE),
                    ("resources", str(i)),
                )
            )
    return problems


async def _current_tags(
    ctx: Context,
    ws: AuthorizedWorkspace,
    keys: Sequence[str],
    times: dict[tuple[str, str], datetime] | None = None,
) -> dict[str, set[str]]:
    """Each resource's tag ids; `times` receives when each was applied."""
    current: defaultdict[str, set[str]] = defaultdict(set)
    for row in await ctx.store.taggings.of_resources(
        [ws.id], sorted(set(keys)), ctx.principal.visibility, per_call=RESOURCES_PER_READ
    ):
        current[row["rk"]].add(row["tagId"])
        if times is not None:
            times[(row["rk"], row["tagId"])] = row["at"]
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
                # Another request made the name meanwhile, as a name or an alias.
                held = [k for k in name_keys_of(doc) if k in pending]
                if is_live(doc) and held:
                    for key in held:
                        del pending[key]
                    existing.append(doc["_id"])
            if not pending:
                return [], existing
    message = N_("The tag names keep changing; try again.")
    raise UserFailure([taken("name", ("tagNames",), message=message)])


async def add_tags_to_resources(
    ctx: Context,
    workspace_id: str,
    resources: Sequence[Mapping[str, str]],
    tag_ids: Sequence[str] | None,
    tag_names: Sequence[str] | None,
    create_missing: bool,
) -> tuple[list[str], list[Doc], int, int]:
    """(resource keys, created tags, associations added, associations replaced)."""
    ws = ctx.principal.workspace(workspace_id, WRITE if create_missing else TAGGINGS_WRITE)
    problems = Problems()
    keys = _resources(resources, problems)
    if not tag_ids and not tag_names:
        problems.add(Problem(UserErrorCode.VALIDATION, "Give tagIds or tagNames.", ("tagIds",)))
    docs: dict[str, Doc] = {}
    ids = await _tags_by_id(ctx, ws, list(tag_ids or []), "tagIds", problems, docs)
    _refuse_archived(list(tag_ids or []), docs, "tagIds", problems)
    named = [(t, "tagIds") for t in ids]
    names = [
        problems.check(partial(normalize_name, n, path=("tagNames", str(i))))
        for i, n in enumerate(tag_names or [])
    ]
    # A name matches a tag's name or one of its aliases: never create a tag for an alias.
    by_key = (
        {
            key: d
            for d in await ctx.store.tags.by_name_keys(ws, {name_key(n) for n in names if n})
            if is_live(d)
            for key in name_keys_of(d)
        }
        if any(names)
        else {}
    )
    to_create: dict[str, tuple[str, int]] = {}
    for i, name in enumerate(names):
        if name is None:
            continue
        doc = by_key.get(name_key(name))
        if doc is not None and is_archived(doc):
            # Its name stays taken: createMissing does not make another one either.
            problems.add(archived_problem(("tagNames", str(i))))
        elif doc is not None:
            ids.append(doc["_id"])
            docs[doc["_id"]] = doc
            named.append((doc["_id"], "tagNames"))
        elif create_missing:
            to_create.setdefault(name_key(name), (name, i))
        else:
            problems.add(
                Problem(UserErrorCode.NOT_FOUND, "No tag has this name.", ("tagNames", str(i)))
            )
    groups = await exclusive.groups_of(ctx, ws, list(docs.values())) if docs else exclusive.Groups()
    for problem in exclusive.conflicts(named, groups):
        problems.add(problem)
    problems.raise_any()
    ids = list(dict.fromkeys(ids))
    times: dict[tuple[str, str], datetime] = {}
    current = await _current_tags(ctx, ws, keys, times)
    wanted = set(ids) | {f"new:{k}" for k in to_create}
    adding = {rk: wanted - current.get(rk, set()) for rk in keys}
    replacing = exclusive.replacements(groups, adding, current)
    limit = _limit_problems(
        keys, {rk: tags - replacing.get(rk, set()) for rk, tags in current.items()}, adding
    )
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
        if groups.slot_of:
            replaced_pairs = [(rk, t, times[(rk, t)]) for rk, ts in replacing.items() for t in ts]
            added, replaced = await _add_replacing(ctx, ws, pairs, replaced_pairs, groups, keys)
        else:
            added, replaced = await add_associations(ctx, ws, pairs, _paths(keys)), 0
    except Rollback as rollback:
        if created:
            await ctx.store.tags.delete_ids(ws, [d["_id"] for d in created])
        raise UserFailure(rollback.problems) from None
    ctx.refresh_loaders()
    return keys, created, added, replaced


async def _add_replacing(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[tuple[str, str, datetime]],
    replacing: Sequence[tuple[str, str, datetime]],
    groups: exclusive.Groups,
    keys: Sequence[str],
) -> tuple[int, int]:
    """Take the replaced children off, then add (see resolvers.taggings.exclusive)."""
    removed = [(rk, t) for rk, t, _ in replacing]

    async def finish() -> None:
        await exclusive.roll_forward(ctx, ws, pairs, removed, groups)

    async with ctx.completed_after_outage("replacing children of exclusive tags", finish):
        replaced = await remove_associations(ctx, ws, removed) if removed else 0
        try:
            added = await add_associations(ctx, ws, pairs, _paths(keys), slots=groups.slot_of)
            if added < len(pairs):
                more, evicted = await exclusive.settle(ctx, ws, pairs, groups, _paths(keys))
                added, replaced = added + more, replaced + evicted
        except Rollback:
            await exclusive.undo_request(ctx, ws, pairs, replacing, groups)
            raise
    return added, replaced


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
    docs: dict[str, Doc] = {}
    ids = await _tags_by_id(ctx, ws, list(tag_ids), "tagIds", problems, docs)
    if len(ids) > MAX_TAGS_PER_RESOURCE:
        problems.add(
            Problem(
                UserErrorCode.LIMIT_EXCEEDED,
                msg("A resource can carry at most {max} tags.", max=MAX_TAGS_PER_RESOURCE),
                ("tagIds",),
            )
        )
    groups = await exclusive.groups_of(ctx, ws, list(docs.values())) if docs else exclusive.Groups()
    for problem in exclusive.conflicts([(t, "tagIds") for t in ids], groups):
        problems.add(problem)
    rk = resource_key(*checked) if checked is not None else None
    current: set[str] | None = None
    if rk is not None and any(is_archived(d) for d in docs.values()):
        # An archived tag the resource already carries may stay (a multi-select
        # saving what it shows); one it does not carry would be applied.
        current = (await _current_tags(ctx, ws, [rk])).get(rk, set())
        _refuse_archived(list(tag_ids), docs, "tagIds", problems, kept=current)
    problems.raise_any()
    assert rk is not None
    if current is None:
        current = (await _current_tags(ctx, ws, [rk])).get(rk, set())
    at = now()
    pairs = [(rk, t, at) for t in ids if t not in current]
    try:
        # The tags about to be removed do not count toward the limit: a full set
        # can be replaced by another full set.
        added = await add_associations(
            ctx,
            ws,
            pairs,
            {rk: ("tagIds",)},
            slots=groups.slot_of,
            leaving={rk: len(current - set(ids))},
        )
    except Rollback as rollback:
        raise UserFailure(rollback.problems) from None
    removed = await remove_associations(
        ctx, ws, [(rk, t) for t in current if t not in set(ids)], {rk: current}
    )
    if added < len(pairs) and groups.slot_of:
        # A child of an exclusive parent that the set drops (or a concurrent
        # request's) held the slot: with the drops removed, insert again.
        try:
            more, evicted = await exclusive.settle(ctx, ws, pairs, groups, {rk: ("tagIds",)})
        except Rollback as rollback:
            raise UserFailure(rollback.problems) from None
        added, removed = added + more, removed + evicted
    ctx.refresh_loaders()
    return rk, added, removed
