"""Creating, updating, deleting and merging tags.

There are no transactions: multi-document changes are ordered so that a crash
between two steps leaves data that reads correctly and that the repair routine
(`storage.repair`) completes. Uniqueness is the unique indexes' job; a
conflict is diagnosed after the store refused it, never checked beforehand.

Changes to the tree (moves, deletes, merges, creations below a parent) take
turns per workspace (`resolvers.tags.tree`): each re-reads the tags it decides
on in its turn and writes before the next change reads, so concurrent changes
can never make a cycle, a tag deeper than 4 or a stale path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from config.limits import (
    MAX_ALIASES_PER_TAG,
    MAX_MERGE_SOURCES,
    MAX_TAGS_PER_BATCH,
    MAX_TAGS_PER_WORKSPACE,
    MAX_TREE_DEPTH,
)
from i18n import N_, msg
from resolvers.associations import move_taggings, recount_guarded
from resolvers.authorization import WRITE
from resolvers.clock import now
from resolvers.context import Context
from resolvers.errors import (
    Problem,
    Problems,
    UserErrorCode,
    UserFailure,
    invalid,
    missing,
    not_found,
    taken,
)
from resolvers.events.bus import TagEventKind
from resolvers.history import (
    TagChangeKind,
    change_entries,
    copied_after_outage,
    flag_change,
    flush,
)
from resolvers.normalization import is_tag_id, name_key, new_tag_id
from resolvers.tags import slugs
from resolvers.tags.archive import archived_problem
from resolvers.tags.drafts import (
    Draft,
    category_fields,
    check_own_names,
    read_draft,
    read_fields,
    stored_fields,
    text_fields,
)
from resolvers.tags.tree import TreeBusyError, tree_turn
from storage import AuthorizedWorkspace, Conflict, Doc, Held, PartialInsert, is_live
from storage.history import PENDING, entry
from storage.repair import complete_removals, fix_paths
from storage.tags import is_archived, name_keys_of, names_of

MAX_INSERT_ATTEMPTS = 32


def _too_deep(field: Sequence[str]) -> Problem:
    return Problem(
        UserErrorCode.DEPTH_EXCEEDED,
        msg("Tags can be nested at most {max} levels deep.", max=MAX_TREE_DEPTH + 1),
        tuple(field),
    )


async def find_writable(
    ctx: Context, tag_id: str, field: Sequence[str]
) -> tuple[AuthorizedWorkspace, Doc]:
    """A tag the caller may change; anything else looks exactly like a missing tag."""
    ctx.principal.require(WRITE)
    doc = await ctx.loaders.tag_by_id.load(tag_id) if is_tag_id(tag_id) else None
    ws = ctx.principal.workspace_of(doc["ws"], WRITE) if doc else None
    if doc is None or ws is None or not is_live(doc):
        raise not_found(field)
    return ws, doc


# Create -------------------------------------------------------------------


def _tag_doc(ctx: Context, ws: AuthorizedWorkspace, draft: Draft, parent: Doc | None) -> Doc:
    tag_id = new_tag_id()
    at = now()
    ancestors = [*parent["ancestors"], parent["_id"]] if parent else []
    return {
        "_id": tag_id,
        "ws": ws.id,
        **text_fields(draft.name, draft.aliases),
        "slug": draft.slug or slugs.generated(draft.name, tag_id),
        "color": draft.color,
        "description": draft.description,
        **category_fields(draft.category),
        "metadata": draft.metadata,
        "exclusive": draft.exclusive,
        "createdBy": ctx.principal.id,
        "parentId": parent["_id"] if parent else None,
        "ancestors": ancestors,
        "depth": len(ancestors),
        "usage": 0,
        "usageByType": {},
        "createdAt": at,
        "updatedAt": at,
    }


async def _parents(
    ctx: Context, ws: AuthorizedWorkspace, drafts: Sequence[Draft], problems: Problems
) -> dict[str, Doc]:
    wanted = {d.parent_id for d in drafts if d.parent_id is not None}
    found = (
        {
            p["_id"]: p
            for p in await ctx.store.tags.live_in_workspace(ws, [i for i in wanted if is_tag_id(i)])
        }
        if wanted
        else {}
    )
    for draft in drafts:
        if draft.parent_id is None:
            continue
        parent = found.get(draft.parent_id)
        if parent is None:
            problems.add(missing((*draft.path, "parentId"), "Parent tag"))
        elif parent["depth"] + 1 > MAX_TREE_DEPTH:
            problems.add(_too_deep((*draft.path, "parentId")))
    return found


def _batch_duplicates(drafts: Sequence[Draft], problems: Problems) -> None:
    """A later item repeating an earlier item's name, alias or slug fails; the earlier
    one does not. Names and aliases share one space, as in the unique index."""
    names: set[str] = set()
    explicit: set[str] = set()
    for draft in drafts:
        own = draft.name_keys()
        for field, key in own:
            if key in names:
                problems.add(taken("name", field, in_batch=True))
        names.update(key for _, key in own)
        if draft.slug is not None:
            if draft.slug in explicit:
                problems.add(taken("slug", (*draft.path, "slug"), in_batch=True))
            explicit.add(draft.slug)


async def _taken_by_existing(
    ctx: Context, ws: AuthorizedWorkspace, drafts: Sequence[Draft], problems: Problems
) -> None:
    """When a batch already fails, also report items whose name or explicit slug an
    existing tag holds, so that every failing item is reported at once."""
    store = ctx.store.tags
    reported = {p.field for p in problems.found}
    taken_names = await _names_held(ctx, ws, [k for d in drafts for _, k in d.name_keys()])
    explicit = [d.slug for d in drafts if d.slug is not None]
    taken_slugs = await store.slugs_taken(ws, explicit) if explicit else set()
    for draft in drafts:
        slug_path = (*draft.path, "slug")
        clashes = [field for field, key in draft.name_keys() if key in taken_names]
        for field in clashes:
            if field not in reported:
                problems.add(taken("name", field))
        if not clashes and draft.slug in taken_slugs and slug_path not in reported:
            problems.add(taken("slug", slug_path))


async def _names_held(
    ctx: Context, ws: AuthorizedWorkspace, keys: Sequence[str], *, besides: str | None = None
) -> set[str]:
    """Which of these name keys a tag other than `besides` holds, as its name or an alias."""
    return {
        key
        for doc in await ctx.store.tags.by_name_keys(ws, keys)
        if doc["_id"] != besides
        for key in name_keys_of(doc)
    }


async def _diagnose(
    ctx: Context, ws: AuthorizedWorkspace, drafts: Sequence[Draft], docs: list[Doc]
) -> list[Problem]:
    """After the store refused a batch: report taken names and explicit slugs,
    and give generated slugs that collided a free suffix (then the batch is retried)."""
    store = ctx.store.tags
    # Our own documents were taken back before this look-up, so whatever holds a
    # key now is another tag.
    taken_names = await _names_held(ctx, ws, [k for d in drafts for _, k in d.name_keys()])
    taken_slugs = await store.slugs_taken(ws, [d["slug"] for d in docs])
    problems: list[Problem] = []
    for draft, doc in zip(drafts, docs, strict=True):
        clashes = [field for field, key in draft.name_keys() if key in taken_names]
        if clashes:
            problems.extend(taken("name", field) for field in clashes)
        elif doc["slug"] in taken_slugs and draft.slug is not None:
            problems.append(taken("slug", (*draft.path, "slug")))
    if problems:
        return problems
    await slugs.reassign(
        store,
        ws,
        [(draft.slug is None, doc) for draft, doc in zip(drafts, docs, strict=True)],
        taken_slugs,
    )
    return []


def _item_index(problem: Problem) -> int:
    """The batch position a problem's field names (`["tags", "3", "name"]`); -1 for none."""
    field = problem.field or ()
    return int(field[1]) if len(field) > 1 and field[1].isdigit() else -1


async def _undo_created(ctx: Context, ws: AuthorizedWorkspace, ids: Sequence[str]) -> None:
    if ids:
        await ctx.store.tags.delete_ids(ws, ids)


async def create(
    ctx: Context,
    ws: AuthorizedWorkspace,
    raw_items: Sequence[Mapping[str, Any]],
    paths: Sequence[tuple[str, ...]],
) -> list[Doc]:
    """Create tags all-or-nothing; every failing item is reported."""
    problems = Problems()
    drafts = [read_draft(raw, path, problems) for raw, path in zip(raw_items, paths, strict=True)]
    valid = [d for d in drafts if d is not None]
    _batch_duplicates(valid, problems)
    if not problems.found and any(d.parent_id is not None for d in valid):
        # A parent's place is decided on: no move or delete may change it meanwhile.
        async with tree_turn(ctx, ws):
            return await _create(ctx, ws, valid, problems, paths)
    return await _create(ctx, ws, valid, problems, paths)


async def _create(
    ctx: Context,
    ws: AuthorizedWorkspace,
    valid: Sequence[Draft],
    problems: Problems,
    paths: Sequence[tuple[str, ...]],
) -> list[Doc]:
    parents = await _parents(ctx, ws, valid, problems)
    if problems.found and valid:
        # Nothing will be inserted, so the store cannot name conflicts: look them up.
        await _taken_by_existing(ctx, ws, valid, problems)
    # Found check by check; a client reads them item by item.
    problems.found.sort(key=_item_index)
    problems.raise_any()
    docs = [_tag_doc(ctx, ws, d, parents.get(d.parent_id or "")) for d in valid]
    slugs.spread_within_batch([(d.slug is None, doc) for d, doc in zip(valid, docs, strict=True)])

    # Concurrent creators of one generated slug all move to the same next free
    # suffix; each round one of them wins, so the bound must exceed the racers.
    at = docs[0]["createdAt"] if docs else now()
    base: str | None = None
    for _attempt in range(MAX_INSERT_ATTEMPTS):
        # Each tag carries its history entry from its first write on (slugs may
        # have moved since the last attempt).
        for doc in docs:
            doc.pop(PENDING, None)
        entries = change_entries(ctx, ws.id, TagChangeKind.CREATED, [], docs, at=at, base=base)
        base = entries[0]["_id"][:24] if entries else None
        for doc, made in zip(docs, entries, strict=True):
            doc[PENDING] = [made]
        try:
            # An insert whose answer an outage lost may have landed, entries with it.
            async with copied_after_outage(ctx, [d["_id"] for d in docs]):
                if len(docs) == 1:
                    await ctx.store.tags.insert(docs[0])
                else:
                    await ctx.store.tags.insert_many(docs)
            break
        except (Conflict, PartialInsert) as refused:
            written = refused.inserted if isinstance(refused, PartialInsert) else []
            await _undo_created(ctx, ws, [docs[i]["_id"] for i in written])
            found = await _diagnose(ctx, ws, valid, docs)
            if found:
                raise UserFailure(found) from None
    else:
        message = N_("Could not find a free slug; try again.")
        raise UserFailure([taken("slug", (*valid[0].path, "slug"), message=message)])

    created = [d["_id"] for d in docs]
    # From here on the tags carry their entries: a store failure leaves their copy
    # to the journal (nothing is copied of tags taken back meanwhile).
    async with copied_after_outage(ctx, created):
        # Checked after writing, so that concurrent creators cannot both slip under the limit.
        if await ctx.store.tags.count_workspace(ws) > MAX_TAGS_PER_WORKSPACE:
            await _undo_created(ctx, ws, created)
            raise UserFailure.one(
                UserErrorCode.LIMIT_EXCEEDED,
                msg("A workspace can hold at most {max} tags.", max=MAX_TAGS_PER_WORKSPACE),
                ("tags",) if paths and paths[0] else None,
            )
        if parents:
            # A parent deleted while we wrote would leave orphans: re-read and back out.
            alive = {p["_id"] for p in await ctx.store.tags.live_in_workspace(ws, list(parents))}
            gone = [d for d in valid if d.parent_id and d.parent_id not in alive]
            if gone:
                await _undo_created(ctx, ws, created)
                raise UserFailure(missing((*d.path, "parentId"), "Parent tag") for d in gone)
    await flush(ctx, entries, pending=True)
    ctx.refresh_loaders()
    ctx.loaders.prime_tags(docs)
    for doc in docs:
        ctx.emit(TagEventKind.CREATED, doc["_id"], ws.id)
    return docs


async def create_tag(ctx: Context, workspace_id: str, fields: Mapping[str, Any]) -> Doc:
    ws = ctx.principal.workspace(workspace_id, WRITE)
    return (await create(ctx, ws, [fields], [()]))[0]


async def create_tags(
    ctx: Context, workspace_id: str, items: Sequence[Mapping[str, Any]]
) -> list[Doc]:
    ws = ctx.principal.workspace(workspace_id, WRITE)
    if not 1 <= len(items) <= MAX_TAGS_PER_BATCH:
        raise invalid(("tags",), msg("Give 1 to {max} tags.", max=MAX_TAGS_PER_BATCH))
    return await create(ctx, ws, items, [("tags", str(i)) for i in range(len(items))])


# Update -------------------------------------------------------------------

_UPDATABLE = (
    "name",
    "slug",
    "color",
    "description",
    "category",
    "parentId",
    "metadata",
    "exclusive",
    "aliases",
)
# What a field reads as when a document lacks it (tags stored before 1.1).
_ABSENT: dict[str, Any] = {"exclusive": False}


async def _new_place(
    ctx: Context, ws: AuthorizedWorkspace, tag: Doc, parent_id: str | None
) -> dict[str, Any]:
    """parentId/ancestors/depth for moving `tag` under `parent_id` (None: make it a root)."""
    if parent_id is None:
        ancestors: list[str] = []
    else:
        if parent_id == tag["_id"]:
            raise UserFailure.one(
                UserErrorCode.CYCLE, "A tag cannot be its own parent.", ("parentId",)
            )
        found = (
            await ctx.store.tags.live_in_workspace(ws, [parent_id]) if is_tag_id(parent_id) else []
        )
        if not found:
            raise not_found(("parentId",), "Parent tag")
        parent = found[0]
        if tag["_id"] in parent["ancestors"]:
            raise UserFailure.one(
                UserErrorCode.CYCLE, "A tag cannot move below its own descendant.", ("parentId",)
            )
        ancestors = [*parent["ancestors"], parent_id]
    deepest = await ctx.store.tags.deepest_below(ws, tag["_id"])
    height = (deepest - tag["depth"]) if deepest is not None else 0
    if len(ancestors) + height > MAX_TREE_DEPTH:
        raise UserFailure([_too_deep(("parentId",))])
    return {"parentId": parent_id, "ancestors": ancestors, "depth": len(ancestors)}


def _with_own_names(values: dict[str, Any], tag: Doc) -> dict[str, Any]:
    """The update's values once its name and aliases agree with each other.

    Given aliases must not repeat the (new or current) name: VALIDATION. A
    rename to one of the tag's own aliases takes that alias off the list.
    """
    if "aliases" in values:
        problems = Problems()
        check_own_names(values.get("name") or tag["name"], values["aliases"], (), problems)
        problems.raise_any()
    elif "name" in values:
        key = name_key(values["name"])
        current = tag.get("aliases") or []
        kept = [a for a in current if name_key(a) != key]
        if kept != current:
            values = {**values, "aliases": kept}
    return values


async def update_tag(ctx: Context, tag_id: str, given: Mapping[str, Any]) -> Doc:
    ctx.principal.require(WRITE)  # before any input rule: no scope, no hints
    if not any(key in given for key in _UPDATABLE):
        raise invalid(None, "Give at least one field to change.")
    ws, tag = await find_writable(ctx, tag_id, ("id",))
    problems = Problems()
    values = read_fields(given, (), problems, update=True)
    problems.raise_any()
    changes = stored_fields(_with_own_names(values, tag), tag)
    if "parentId" not in given:
        return await _apply_update(ctx, ws, tag, changes, None)
    async with tree_turn(ctx, ws) as held:
        # The tag as it is now, in this turn: the one read above may have moved since.
        current = await ctx.store.tags.live_in_workspace(ws, [tag_id])
        if not current:
            raise not_found(("id",))
        tag = current[0]
        if given["parentId"] != tag.get("parentId"):
            changes.update(await _new_place(ctx, ws, tag, given["parentId"]))
        return await _apply_update(ctx, ws, tag, changes, held)


async def _apply_update(
    ctx: Context, ws: AuthorizedWorkspace, tag: Doc, changes: dict[str, Any], held: Held | None
) -> Doc:
    tag_id = tag["_id"]
    changes = {k: v for k, v in changes.items() if tag.get(k, _ABSENT.get(k)) != v}
    if not changes:
        return tag
    changes["updatedAt"] = now()
    # The entry is written with the change (one statement), copied to the history after.
    recorded = change_entries(
        ctx, ws.id, TagChangeKind.UPDATED, [tag], [{**tag, **changes}], at=changes["updatedAt"]
    )
    moving = "ancestors" in changes
    # A move is written only if the tag is still where it was decided from.
    expected = {"parentId": tag.get("parentId"), "ancestors": tag["ancestors"]} if moving else {}
    if held is not None:
        held.ensure()
    try:
        # A write whose answer an outage lost may have landed, its entry with it.
        async with copied_after_outage(ctx, [tag_id]):
            updated = await ctx.store.tags.update(
                ws, tag_id, changes, expected, pending=recorded[0] if recorded else None
            )
    except Conflict as conflict:
        if conflict.field == "slug":
            raise UserFailure([taken("slug", ("slug",))]) from None
        raise UserFailure(await _name_clashes(ctx, ws, tag_id, changes)) from None
    if updated is None:
        if moving and await ctx.store.tags.live_in_workspace(ws, [tag_id]):
            # Moved by someone else after all (only if this turn's lock was lost).
            raise TreeBusyError()
        raise not_found(("id",))
    async with copied_after_outage(ctx, [tag_id]):
        if moving and held is not None:

            async def rederive_paths() -> None:
                await fix_paths(ctx.store, ws.id)

            fix = held.fix_up(rederive_paths)
            async with ctx.completed_after_outage("moving a subtree", fix):
                await ctx.store.tags.move_subtree(ws, tag_id, changes["ancestors"])
    await flush(ctx, recorded, pending=True)
    ctx.refresh_loaders()
    ctx.loaders.prime_tags([updated])
    ctx.emit(TagEventKind.UPDATED, tag_id, ws.id)
    return updated


async def _name_clashes(
    ctx: Context, ws: AuthorizedWorkspace, tag_id: str, changes: Mapping[str, Any]
) -> list[Problem]:
    """NAME_TAKEN for each new name or alias another tag holds (after the index refused)."""
    if "nameKeys" not in changes:
        return [taken("name", ("name",))]
    keys: list[str] = changes["nameKeys"]
    held = await _names_held(ctx, ws, keys, besides=tag_id)
    aliases = (("aliases", str(j)) for j in range(len(keys) - 1))
    fields: list[tuple[str, ...]] = [("name",), *aliases]
    found = [taken("name", field) for field, key in zip(fields, keys, strict=True) if key in held]
    # The other tag may have gone again since; the name is what was refused.
    return found or [taken("name", ("name" if "name" in changes else "aliases",))]


# Delete -------------------------------------------------------------------


def _usage(tags: Iterable[Doc]) -> dict[str, int]:
    """Each tag's usage counter: how many associations removing it deletes."""
    return {t["_id"]: int(t.get("usage") or 0) for t in tags}


async def _remove(
    ctx: Context,
    ws: AuthorizedWorkspace,
    tags: Sequence[Doc],
    with_descendants: bool,
    held: Held,
) -> tuple[list[str], int]:
    """Flag, detach, untag, then delete. The flag comes first so that concurrent
    taggings notice and back out; every later step is idempotent, and repair
    finishes whatever a crash interrupted. `tags` were read in this tree turn."""
    store = ctx.store
    ids = [t["_id"] for t in tags]
    gone = list(tags)
    if with_descendants:
        gone += [d for d in await store.tags.subtree(ws, ids) if d["_id"] not in ids]
        ids = [d["_id"] for d in gone]

    async def finish() -> None:
        await complete_removals(store, ids)

    # The flag carries what the history records, so repair can record it after a crash.
    change = flag_change(ctx, TagChangeKind.DELETED)
    entries = change_entries(
        ctx, ws.id, TagChangeKind.DELETED, gone, [], at=change["at"], base=change["id"]
    )
    held.ensure()
    async with ctx.completed_after_outage("deleting tags", held.fix_up(finish)):
        await store.tags.mark_deleting(ws, ids, change=change)
        if not with_descendants:
            # Deepest first, so a child deleted with its parent is lifted before the parent is.
            await store.tags.lift_children_many(ws, sorted(tags, key=lambda t: -t["depth"]))
        removed = await store.taggings.remove_tags(ws, ids, _usage(tags))
        await store.history.insert(entries)
        await store.tags.delete_ids(ws, ids)
    ctx.refresh_loaders()
    for tag_id in ids:
        ctx.emit(TagEventKind.DELETED, tag_id, ws.id)
    return ids, removed


async def delete_tag(ctx: Context, tag_id: str, delete_descendants: bool) -> tuple[list[str], int]:
    ws, _ = await find_writable(ctx, tag_id, ("id",))
    async with tree_turn(ctx, ws) as held:
        # As it is in this turn: its parent and subtree may have changed since it was read.
        tags = await ctx.store.tags.live_in_workspace(ws, [tag_id])
        if not tags:
            raise not_found(("id",))
        return await _remove(ctx, ws, tags, delete_descendants, held)


async def delete_tags(
    ctx: Context, workspace_id: str, ids: Sequence[str]
) -> tuple[list[str], list[str]]:
    ws = ctx.principal.workspace(workspace_id, WRITE)
    if not 1 <= len(ids) <= MAX_TAGS_PER_BATCH:
        raise invalid(("ids",), msg("Give 1 to {max} ids.", max=MAX_TAGS_PER_BATCH))
    wanted = list(dict.fromkeys(ids))
    async with tree_turn(ctx, ws) as held:
        live = await ctx.store.tags.live_in_workspace(ws, [i for i in wanted if is_tag_id(i)])
        known = {d["_id"] for d in live}
        deleted, _ = await _remove(ctx, ws, live, False, held) if live else ([], 0)
    return deleted, [i for i in wanted if i not in known]


# Merge --------------------------------------------------------------------


def _merged_tree(
    target: Doc, sources: Mapping[str, Doc], nearby: Sequence[Doc]
) -> dict[str, str | None]:
    """New parent of every tag the merge moves.

    Children of a source move under the target; the target, when below a
    source, first moves up to its nearest ancestor that is not a source. A
    source's child that is itself an ancestor of the target cannot go under the
    target (a cycle): it moves up the same way instead.
    """

    def nearest_kept(doc: Doc) -> str | None:
        for ancestor in reversed(doc["ancestors"]):
            if ancestor not in sources:
                return ancestor
        return None

    moves: dict[str, str | None] = {}
    if any(a in sources for a in target["ancestors"]):
        moves[target["_id"]] = nearest_kept(target)
    for doc in nearby:
        if (
            doc["_id"] in sources
            or doc["_id"] == target["_id"]
            or doc.get("parentId") not in sources
        ):
            continue
        moves[doc["_id"]] = (
            nearest_kept(doc) if doc["_id"] in target["ancestors"] else target["_id"]
        )
    return moves


def _new_ancestors(
    area: Mapping[str, Doc], parent_of: Mapping[str, str | None]
) -> dict[str, list[str]]:
    """Ancestors of every tag in `area` once each has the parent `parent_of` gives.

    A new parent outside the area is one of the tag's current ancestors, whose
    own ancestors do not change.
    """
    result: dict[str, list[str]] = {}

    def path(tag_id: str) -> list[str]:
        if tag_id not in result:
            doc = area[tag_id]
            parent = parent_of.get(tag_id, doc.get("parentId"))
            if parent is None:
                result[tag_id] = []
            elif parent in area:
                result[tag_id] = [*path(parent), parent]
            else:
                current = doc["ancestors"]
                result[tag_id] = (
                    current[: current.index(parent) + 1] if parent in current else list(current)
                )
        return result[tag_id]

    for tag_id in area:
        path(tag_id)
    return result


def _adopted_names(target: Doc, sources: Sequence[Doc]) -> list[list[str]]:
    """(alias, name key, search key) of the sources' names and aliases the target
    takes as new aliases: in source order, its own names and repeats left out."""
    held = {key for key, _ in names_of(target)}
    adopted: list[list[str]] = []
    for source in sources:
        texts = [source["name"], *(source.get("aliases") or [])]
        for text, (key, search) in zip(texts, names_of(source), strict=True):
            if key not in held:
                held.add(key)
                adopted.append([text, key, search])
    return adopted


async def merge_tags(
    ctx: Context, target_id: str, source_ids: Sequence[str], keep_names: bool = True
) -> tuple[Doc, list[str], int]:
    ctx.principal.require(WRITE)  # before any input rule: no scope, no hints
    if not 1 <= len(source_ids) <= MAX_MERGE_SOURCES:
        raise invalid(("sourceIds",), msg("Give 1 to {max} source tags.", max=MAX_MERGE_SOURCES))
    if target_id in source_ids:
        raise invalid(("sourceIds",), "The target cannot be one of the sources.")
    ws, _ = await find_writable(ctx, target_id, ("targetId",))
    async with tree_turn(ctx, ws) as held:
        return await _merge(ctx, ws, target_id, source_ids, held, keep_names)


async def _merge(
    ctx: Context,
    ws: AuthorizedWorkspace,
    target_id: str,
    source_ids: Sequence[str],
    held: Held,
    keep_names: bool,
) -> tuple[Doc, list[str], int]:
    store = ctx.store
    wanted = list(dict.fromkeys(source_ids))
    # The target and sources as they are in this turn (one read).
    found = {
        d["_id"]: d
        for d in await store.tags.live_in_workspace(
            ws, [target_id, *(i for i in wanted if is_tag_id(i))]
        )
    }
    target = found.pop(target_id, None)
    if target is None:
        raise not_found(("targetId",))
    if is_archived(target):
        # The sources' resources would all be given an archived tag.
        raise UserFailure([archived_problem(("targetId",))])
    absent = [missing(("sourceIds", str(i))) for i, s in enumerate(source_ids) if s not in found]
    if absent:
        raise UserFailure(absent)
    adopted = _adopted_names(target, [found[i] for i in wanted]) if keep_names else []
    if len(target.get("aliases") or []) + len(adopted) > MAX_ALIASES_PER_TAG:
        raise UserFailure.one(
            UserErrorCode.LIMIT_EXCEEDED,
            msg("A tag can have at most {max} aliases.", max=MAX_ALIASES_PER_TAG),
            ("keepSourceNamesAsAliases",),
        )

    # Every tag whose place may change: the target, and the subtrees of it and of the sources.
    nearby = await store.tags.in_workspace(
        ws, [target_id, *found], include_descendants=True, full=True
    )
    area = {d["_id"]: d for d in nearby if d["_id"] not in found}
    area[target_id] = target
    moves = _merged_tree(target, found, list(area.values()))
    ancestors = _new_ancestors(area, moves)
    if any(len(a) > MAX_TREE_DEPTH for a in ancestors.values()):
        raise UserFailure([_too_deep(("sourceIds",))])

    # Flag first: the flag records the merge, so repair can finish it after a crash.
    # It carries the history's entries too: each source MERGED, the target UPDATED
    # when it takes names or moves.
    change = flag_change(ctx, TagChangeKind.MERGED)
    target_after = {
        **target,
        "aliases": [*(target.get("aliases") or []), *(a[0] for a in adopted)],
        "parentId": moves.get(target_id, target.get("parentId")),
    }
    target_entry = entry(
        change["id"],
        ws.id,
        TagChangeKind.UPDATED.value,
        target_id,
        target,
        target_after,
        actor=ctx.principal.id,
        at=change["at"],
    )
    if target_entry is not None:
        change["target"] = target_entry
    entries = change_entries(
        ctx,
        ws.id,
        TagChangeKind.MERGED,
        [found[i] for i in found],
        [],
        merged_into_id=target_id,
        at=change["at"],
        base=change["id"],
    )
    if target_entry is not None:
        entries.append(target_entry)

    async def finish() -> None:
        await complete_removals(store, list(found))
        await recount_guarded(ctx, [target_id])

    held.ensure()
    async with ctx.completed_after_outage("merging tags", held.fix_up(finish)):
        # The flag carries the names the target adopts, so that repair can finish
        # the adoption too. The sources give their names up before the target
        # takes them: the unique index would refuse one name on two tags.
        await store.tags.mark_deleting(
            ws, list(found), merge_into=target_id, adopt=adopted, change=change
        )
        if adopted:
            await store.tags.release_names(ws, list(found))
            await store.tags.adopt_names(
                ws, target_id, adopted, limit=MAX_ALIASES_PER_TAG, at=now()
            )
        moved = await move_taggings(
            ctx, ws, target_id, await store.taggings.of_tags(ws, list(found))
        )
        places: dict[str, tuple[str | None, list[str]]] = {}
        for tag_id, doc in area.items():
            parent = moves.get(tag_id, doc.get("parentId"))
            if parent != doc.get("parentId") or ancestors[tag_id] != doc["ancestors"]:
                places[tag_id] = (parent, ancestors[tag_id])
        await store.tags.set_places(places)
        await store.taggings.remove_tags(ws, list(found), _usage(found.values()))
        await store.history.insert(entries)
        await store.tags.delete_ids(ws, list(found))
    ctx.refresh_loaders()
    for source_id in found:
        ctx.emit(TagEventKind.MERGED, source_id, ws.id)
    ctx.emit(TagEventKind.MERGED, target_id, ws.id)
    merged = await ctx.loaders.tag_by_id.load(target_id)
    return merged or target, list(found), moved
