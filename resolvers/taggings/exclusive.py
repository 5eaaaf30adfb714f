"""Exclusive parents (1.1): a resource carries at most one child of an exclusive tag.

Concurrent requests end with exactly one child, without transactions. An
association of a child C of an exclusive tag P carries `slot: P`, and a
partial unique index on (ws, rk, slot) admits one such association per
(resource, exclusive parent) at every moment. Adding C to a resource:

1. the request reads the resource's tags (it does anyway) and takes the other
   children of P it carries off first (replacement: counted, counters and
   events as for any removal);
2. it inserts (rk, C) with `slot: P`. When another request put a child of P in
   the slot meanwhile, the index refuses the insert; `settle` then reads the
   slot's holder and takes it off (this request came later, so it replaces
   that one too) and inserts again. A holder that is no longer a child of P
   (moved away, or on its way out) only loses its stale slot.

Every round either writes or removes what another request wrote, so N racers
settle within N rounds (MAX_ROUNDS bounds it). Associations without a slot
(made before P became exclusive, or by moving or merging tags: the contract's
"combinations made earlier") stay until a child of P is added to the resource.

Once the writes of a request that replaces have begun, an outage does not
leave the resource with neither child: the recovery journal rolls the request
forward (`roll_forward`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from i18n import msg
from resolvers.associations import (
    Rollback,
    add_associations,
    recount_guarded,
    remove_associations,
)
from resolvers.context import Context
from resolvers.errors import Problem, UserErrorCode
from storage import AuthorizedWorkspace, Doc, is_live

# A request's attempts at a slot that concurrent requests keep taking; each
# attempt lets at least one of them through, so this bounds the racers served.
MAX_ROUNDS = 32

Pair = tuple[str, str]
Dated = tuple[str, str, datetime]


@dataclass(frozen=True, slots=True)
class Groups:
    """The exclusive parents of the tags a request adds, and their children."""

    # Tag id -> its exclusive parent's id (only tags whose parent is exclusive).
    slot_of: dict[str, str] = field(default_factory=dict)
    # Exclusive parent id -> the ids of its children.
    children: dict[str, set[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def others(self, tag_id: str, carried: set[str]) -> set[str]:
        """The children of `tag_id`'s exclusive parent in `carried`, other than itself."""
        parent = self.slot_of.get(tag_id)
        if parent is None:
            return set()
        return (carried & self.children[parent]) - {tag_id}


async def groups_of(ctx: Context, ws: AuthorizedWorkspace, tags: Sequence[Doc]) -> Groups:
    """At most two batched reads: the parents, then the children of the exclusive ones."""
    parent_ids = sorted({t["parentId"] for t in tags if t.get("parentId")})
    if not parent_ids:
        return Groups()
    parents = [
        p
        for p in await ctx.loaders.tag_by_id.load_many(parent_ids)
        if p is not None and p["ws"] == ws.id and is_live(p) and p.get("exclusive")
    ]
    if not parents:
        return Groups()
    exclusive = sorted(p["_id"] for p in parents)
    found = await ctx.loaders.children_by_parent_id.load_many([(ws.id, p) for p in exclusive])
    children = {p: {c["_id"] for c in kids} for p, kids in zip(exclusive, found, strict=True)}
    return Groups(
        slot_of={t["_id"]: t["parentId"] for t in tags if t.get("parentId") in children},
        children=children,
        names={d["_id"]: d["name"] for d in [*tags, *parents]},
    )


def conflicts(named: Sequence[tuple[str, str]], groups: Groups) -> list[Problem]:
    """VALIDATION for a second child of one exclusive parent among (tag id, input field)
    in request order, at the field that named it; one problem per parent."""
    first: dict[str, str] = {}
    reported: set[str] = set()
    problems = []
    for tag_id, input_field in named:
        parent = groups.slot_of.get(tag_id)
        if parent is None:
            continue
        earlier = first.setdefault(parent, tag_id)
        if earlier == tag_id or parent in reported:
            continue
        reported.add(parent)
        problems.append(
            Problem(
                UserErrorCode.VALIDATION,
                msg(
                    "{first} and {second} are both children of {parent}, an exclusive tag: "
                    "a resource carries at most one of them.",
                    first=groups.names.get(earlier, earlier),
                    second=groups.names.get(tag_id, tag_id),
                    parent=groups.names.get(parent, parent),
                ),
                (input_field,),
            )
        )
    return problems


def replacements(
    groups: Groups, adding: Mapping[str, set[str]], current: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Per resource, the tags that the children it gains take off it."""
    out: dict[str, set[str]] = {}
    for rk, tags in adding.items():
        carried = current.get(rk, set())
        gone = {other for t in tags for other in groups.others(t, carried)}
        if gone:
            out[rk] = gone
    return out


async def settle(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[Dated],
    groups: Groups,
    limit_paths: Mapping[str, tuple[str, ...]] | None,
) -> tuple[int, int]:
    """Insert the slotted associations of `pairs` that a held slot kept out:
    (associations added, associations replaced). Raises Rollback as
    add_associations does."""
    pending = [p for p in pairs if p[1] in groups.slot_of]
    added = replaced = 0
    for _round in range(MAX_ROUNDS):
        if not pending:
            break
        rows = await ctx.store.taggings.slots_of(ws, sorted({rk for rk, _, _ in pending}))
        present = {(r["rk"], r["tagId"]) for r in rows}
        holder = {(r["rk"], r["slot"]): r["tagId"] for r in rows if r.get("slot")}
        pending = [p for p in pending if (p[0], p[1]) not in present]
        held = sorted(
            {
                (rk, groups.slot_of[t], holder[(rk, groups.slot_of[t])])
                for rk, t, _ in pending
                if (rk, groups.slot_of[t]) in holder
            }
        )
        if held:
            replaced += await _free(ctx, ws, held)
        if not pending:
            break
        n = await add_associations(ctx, ws, pending, limit_paths, slots=groups.slot_of)
        added += n
        if n == len(pending):
            break
    return added, replaced


async def _free(ctx: Context, ws: AuthorizedWorkspace, held: Sequence[tuple[str, str, str]]) -> int:
    """Empty the slots (resource key, slot, holder): a holder still a child of that
    parent is taken off (replaced, returned); any other only loses the slot."""
    docs = await ctx.store.tags.live_in_workspace(ws, sorted({h for _, _, h in held}))
    parent_of = {d["_id"]: d.get("parentId") for d in docs}
    evict = [(rk, h) for rk, slot, h in held if parent_of.get(h) == slot]
    stale = [(rk, slot, h) for rk, slot, h in held if parent_of.get(h) != slot]
    if stale:
        await ctx.store.taggings.clear_slots(ws, stale)
    return await remove_associations(ctx, ws, evict) if evict else 0


async def undo_request(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[Dated],
    replaced: Sequence[Dated],
    groups: Groups,
) -> None:
    """A request that replaced failed a check after writing: take its additions back
    and put the replaced associations back (with their times and slots)."""
    await remove_associations(ctx, ws, [(rk, t) for rk, t, _ in pairs])
    # A replaced tag deleted meanwhile has nothing to put back (Rollback).
    with contextlib.suppress(Rollback):
        await add_associations(
            ctx, ws, replaced, enforce_limit=False, slots=groups.slot_of, allow_archived=True
        )


async def roll_forward(
    ctx: Context,
    ws: AuthorizedWorkspace,
    pairs: Sequence[Dated],
    replaced: Sequence[Pair],
    groups: Groups,
) -> None:
    """After an outage cut a replacing request short: finish it. Idempotent: the
    replaced associations are removed (again), the request's associations of
    tags still alive inserted (duplicates skipped; a slot another request took
    meanwhile keeps its holder), and every touched counter recounted."""
    touched = sorted({t for _, t, _ in pairs} | {t for _, t in replaced})
    alive = {d["_id"] for d in await ctx.store.tags.live_in_workspace(ws, touched)}
    if replaced:
        await remove_associations(ctx, ws, list(replaced))
    try:
        await add_associations(
            ctx,
            ws,
            [p for p in pairs if p[1] in alive],
            enforce_limit=False,
            slots=groups.slot_of,
        )
    except Rollback:
        pass  # a tag was deleted since: its associations are not wanted
    finally:
        await recount_guarded(ctx, touched)
