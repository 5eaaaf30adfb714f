"""Applying tags to resources: add, remove, set (the writes are in resolvers/associations.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
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
from resolvers.tags.mutations import create
from storage import AuthorizedWorkspace, Doc, is_live
from storage.taggings import resource_key


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
            problems.add(missing((field, str(i))))
    return [t for t in dict.fromkeys(ids) if t in found]


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
    message = N_("The tag names keep changing; try again.")
    raise UserFailure([taken("name", ("tagNames",), message=message)])


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
                msg("A resource can carry at most {max} tags.", max=MAX_TAGS_PER_RESOURCE),
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
