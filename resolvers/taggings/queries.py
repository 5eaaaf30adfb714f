"""Reading resources and their tags: resourceTags, taggedResources, Tag.resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.limits import MAX_TAG_IDS_PER_RESOURCE_FILTER
from i18n import msg
from resolvers.authorization import READ
from resolvers.context import Context
from resolvers.dataloaders import resource_key_in_workspace
from resolvers.errors import BadUserInput, UserFailure
from resolvers.normalization import RESOURCE_TYPE_RE, is_tag_id, normalize_resource_ref
from resolvers.pagination import Page, PageArgs, encode_cursor, page_args, read_page
from resolvers.taggings.facets import ResourceSet
from storage import AuthorizedWorkspace, Doc

# Tag.resources of tags used at most this often is answered from one batched read
# of all their associations (one store call for every such tag of a request);
# a more used tag reads just its page through the index, one call per tag.
BATCHED_USAGE = 1000


def resource_cursors(page: Page) -> list[str]:
    return [encode_cursor("RESOURCES", key) for key in page.keys]


def checked_resource(rtype: str, rid: str) -> tuple[str, str]:
    """A resource argument of a query: a malformed one is BAD_USER_INPUT."""
    try:
        return normalize_resource_ref(rtype, rid, path=("resource",))
    except UserFailure as failure:
        raise BadUserInput(failure.problems[0].message) from None


async def tags_of_resource(ctx: Context, workspace_id: str, rtype: str, rid: str) -> list[Doc]:
    """Live tags of a resource, by name; associations whose tag is gone are ignored."""
    key = resource_key_in_workspace(workspace_id, rtype, rid)
    rows = await ctx.loaders.taggings_by_resource_key.load(key)
    if not rows:
        return []
    docs = await ctx.loaders.tag_by_id.load_many([r["tagId"] for r in rows])
    live = [d for d in docs if d is not None and d["ws"] == workspace_id]
    live.sort(key=lambda d: d["nameKey"])
    return live


async def resource_tags(ctx: Context, workspace_id: str, rtype: str, rid: str) -> list[Doc]:
    ws = ctx.principal.workspace(workspace_id, READ)
    rtype, rid = checked_resource(rtype, rid)
    return await tags_of_resource(ctx, ws.id, rtype, rid)


def _type_arg(resource_type: str | None) -> tuple[str | None, bool]:
    """(type, possible): a type no resource can have matches nothing."""
    if resource_type is None:
        return None, True
    return resource_type, bool(RESOURCE_TYPE_RE.fullmatch(resource_type))


def _row_key(row: Doc) -> list[Any]:
    return [row["at"], row["rk"]]


def _empty_page(args: Any) -> Page:
    async def nothing(*_: Any) -> bool:
        return False

    async def zero() -> int:
        return 0

    return Page([], [], args, False, nothing, zero)


async def tag_resources(
    ctx: Context,
    tag: Doc,
    resource_type: str | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page:
    args = page_args("RESOURCES", first, after, last, before)
    rtype, possible = _type_arg(resource_type)
    if not possible:
        return _empty_page(args)
    ws = ctx.principal.workspace_of(tag["ws"], READ)
    if ws is None:
        return _empty_page(args)
    store, tag_id = ctx.store.taggings, tag["_id"]
    if int(tag.get("usage") or 0) <= BATCHED_USAGE:
        rows = await ctx.loaders.resources_by_tag_id.load((ws.id, tag_id))
        page = await _page_of(args, [r for r in rows if rtype is None or r["rtype"] == rtype])
        page.source = ResourceSet(ws, [[tag_id]], False, rtype)
        return page

    async def fetch(limit: int) -> list[Doc]:
        return await store.page_by_tag(
            ws,
            tag_id,
            rtype,
            after=args.after,
            before=args.before,
            limit=limit,
            from_end=args.from_end,
        )

    page = await read_page(
        args,
        fetch,
        _row_key,
        lambda values, forward: store.exists_by_tag(ws, tag_id, rtype, values, forward=forward),
        lambda: store.count_by_tag(ws, tag_id, rtype),
    )
    page.source = ResourceSet(ws, [[tag_id]], False, rtype)
    return page


async def _page_of(args: PageArgs, rows: list[Doc]) -> Page:
    """A keyset page of a tag's associations already in hand: no store call at all.

    The same order and cursor rules as the store's pages (`BY_TAG_SORT`: most
    recently tagged first, ties by resource key).
    """
    ordered = sorted(rows, key=lambda r: r["rk"])
    ordered.sort(key=lambda r: r["at"], reverse=True)

    def after(row: Doc, values: Sequence[Any]) -> bool:
        return bool(row["at"] < values[0] or (row["at"] == values[0] and row["rk"] > values[1]))

    def before(row: Doc, values: Sequence[Any]) -> bool:
        return bool(row["at"] > values[0] or (row["at"] == values[0] and row["rk"] < values[1]))

    in_range = [
        r
        for r in ordered
        if (args.after is None or after(r, args.after))
        and (args.before is None or before(r, args.before))
    ]

    async def fetch(limit: int) -> list[Doc]:
        return in_range[-limit:] if args.from_end else in_range[:limit]

    async def beyond(values: Sequence[Any], forward: bool) -> bool:
        return any(after(r, values) if forward else before(r, values) for r in ordered)

    async def count() -> int:
        return len(ordered)

    return await read_page(args, fetch, _row_key, beyond, count)


async def _match_groups(
    ctx: Context, ws: AuthorizedWorkspace, tag_ids: Sequence[str], include_descendants: bool
) -> list[list[str]] | None:
    """One group per asked tag: the tag and, if asked, its descendants. None: a tag is unknown."""
    wanted = list(dict.fromkeys(t for t in tag_ids if is_tag_id(t)))
    found = await ctx.store.tags.in_workspace(ws, wanted, include_descendants=include_descendants)
    known = {d["_id"] for d in found}
    groups: list[list[str]] = []
    for tag_id in dict.fromkeys(tag_ids):
        if tag_id not in known:
            groups.append([])
            continue
        group = [tag_id]
        if include_descendants:
            group += [d["_id"] for d in found if tag_id in (d.get("ancestors") or [])]
        groups.append(group)
    return groups


async def tagged_resources(
    ctx: Context,
    workspace_id: str,
    tag_ids: list[str],
    match_all: bool,
    resource_type: str | None,
    include_descendants: bool,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page:
    ws = ctx.principal.workspace(workspace_id, READ)
    if not 1 <= len(tag_ids) <= MAX_TAG_IDS_PER_RESOURCE_FILTER:
        raise BadUserInput(msg("tagIds takes 1 to {max} ids.", max=MAX_TAG_IDS_PER_RESOURCE_FILTER))
    args = page_args("RESOURCES", first, after, last, before)
    rtype, possible = _type_arg(resource_type)
    groups = await _match_groups(ctx, ws, tag_ids, include_descendants) if possible else None
    if groups is None:
        return _empty_page(args)
    groups = [g for g in groups if g] if not match_all else groups
    # ANY over unknown tags only, or ALL including an unknown tag: nothing can match.
    if not groups or any(not g for g in groups):
        return _empty_page(args)
    store = ctx.store.taggings

    async def fetch(limit: int) -> list[Doc]:
        rows = await store.page_resources(
            ws,
            groups,
            match_all,
            rtype,
            after=args.after,
            before=args.before,
            limit=limit,
            from_end=args.from_end,
        )
        return [{"rk": r["_id"], "at": r["at"]} for r in rows]

    page = await read_page(
        args,
        fetch,
        _row_key,
        lambda values, forward: store.exists_resources(
            ws, groups, match_all, rtype, values, forward=forward
        ),
        lambda: store.count_resources(ws, groups, match_all, rtype),
    )
    page.source = ResourceSet(ws, groups, match_all, rtype)
    return page
