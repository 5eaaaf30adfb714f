"""Reading tags: tag, tagBySlug, node(s) and the filtered, ordered `tags` list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.limits import (
    MAX_CATEGORY_LENGTH,
    MAX_IDS_PER_LOOKUP,
    MAX_SEARCH_LENGTH,
    MAX_SLUG_LENGTH,
)
from i18n import msg
from resolvers.authorization import READ
from resolvers.context import Context
from resolvers.errors import BadUserInput, UserFailure
from resolvers.normalization import (
    SLUG_RE,
    category_key,
    escape_regex,
    has_forbidden_chars,
    is_tag_id,
    name_key,
    normalize_name,
    search_key,
)
from resolvers.pagination import Page, PageArgs, encode_cursor, page_args, read_page
from resolvers.tags.relevance import relevance_page
from storage import Doc, TagQuery, is_live
from storage.tags import order_sort, sort_values

RELEVANCE = "RELEVANCE"
MAX_PRINCIPAL_ID = 1024
# A filter value longer than any stored value can match nothing.
NOTHING: tuple[str, ...] = ()


async def tag_by_id(ctx: Context, tag_id: str) -> Doc | None:
    ctx.principal.require(READ)
    return await ctx.loaders.tag_by_id.load(tag_id) if is_tag_id(tag_id) else None


async def tags_by_ids(ctx: Context, ids: list[str]) -> list[Doc | None]:
    ctx.principal.require(READ)
    if len(ids) > MAX_IDS_PER_LOOKUP:
        raise BadUserInput(msg("At most {max} ids.", max=MAX_IDS_PER_LOOKUP))
    wanted = [i for i in ids if is_tag_id(i)]
    found = {d["_id"]: d for d in await ctx.loaders.tag_by_id.load_many(wanted) if d is not None}
    return [found.get(i) for i in ids]


async def tag_by_slug(ctx: Context, workspace_id: str, slug: str) -> Doc | None:
    ws = ctx.principal.workspace(workspace_id, READ)
    if not SLUG_RE.fullmatch(slug) or len(slug) > MAX_SLUG_LENGTH:
        return None  # no tag can have it: no need to ask the store
    return await ctx.store.tags.by_slug(ws, slug)


async def tag_by_name(ctx: Context, workspace_id: str, name: str) -> Doc | None:
    ws = ctx.principal.workspace(workspace_id, READ)
    try:
        normalized = normalize_name(name, path=("name",))
    except UserFailure:
        return None  # no tag can have it: no need to ask the store
    doc = await ctx.store.tags.by_name_key(ws, name_key(normalized))
    if doc is None or not is_live(doc):
        return None
    ctx.loaders.prime_tags([doc])
    return doc


def _text_filter(value: str | None) -> str | None:
    """Filter text, normalized like the stored field; a control character is a bad argument."""
    if value is None:
        return None
    if has_forbidden_chars(value):
        raise BadUserInput("Filter text must not contain control characters.")
    return value.strip()


def tag_query(
    search: str | None = None,
    category: str | None = None,
    parent_id: str | None = None,
    is_root: bool | None = None,
    descendant_of: str | None = None,
    ids: Sequence[str] | None = None,
    created_by: str | None = None,
    archived: bool | None = False,
) -> TagQuery:
    if ids is not None and len(ids) > MAX_IDS_PER_LOOKUP:
        raise BadUserInput(msg("filter.ids takes at most {max} ids.", max=MAX_IDS_PER_LOOKUP))
    if created_by is not None and len(created_by) > MAX_PRINCIPAL_ID:
        raise BadUserInput(
            msg("filter.createdBy takes at most {max} characters.", max=MAX_PRINCIPAL_ID)
        )
    search = _text_filter(search)
    category = _text_filter(category)
    # Longer than any stored value, or an id no tag can have (a malformed id
    # matches no tag, exactly like an unknown one): nothing can match, and the
    # filter never reaches the store.
    hopeless = (
        (search is not None and len(search) > MAX_SEARCH_LENGTH)
        or (category is not None and len(category) > MAX_CATEGORY_LENGTH)
        or (parent_id is not None and not is_tag_id(parent_id))
        or (descendant_of is not None and not is_tag_id(descendant_of))
    )
    if hopeless:
        return TagQuery(ids=NOTHING)
    key = search_key(search) if search else None
    return TagQuery(
        search_pattern=escape_regex(key) if key else None,
        search_key=key,
        category_key=category_key(category) if category is not None else None,
        parent_id=parent_id,
        is_root=is_root,
        descendant_of=descendant_of,
        ids=tuple(i for i in ids if is_tag_id(i)) if ids is not None else None,
        created_by=created_by,
        archived=archived,
    )


def _empty_page(args: PageArgs) -> Page:
    async def nothing_beyond(values: Sequence[Any], forward: bool) -> bool:
        return False

    async def zero() -> int:
        return 0

    return Page([], [], args, False, nothing_beyond, zero)


def tag_cursors(page: Page, order: str) -> list[str]:
    return [encode_cursor(order, key) for key in page.keys]


async def list_tags(
    ctx: Context,
    workspace_id: str,
    filters: dict[str, Any],
    order: str,
    descending: bool,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page:
    # Access first: a caller who may not read the workspace learns nothing from its filter.
    ws = ctx.principal.workspace(workspace_id, READ)
    query = tag_query(**filters)
    args = page_args(order, first, after, last, before)
    if order == RELEVANCE and not (filters.get("search") or "").strip():
        raise BadUserInput("orderBy RELEVANCE needs a non-empty filter.search.")
    if query.matches_nothing:
        return _empty_page(args)
    if order == RELEVANCE:
        assert query.search_key is not None  # a non-empty search always has a key
        page = await relevance_page(ctx, ws, query, query.search_key, descending, args)
        return page
    sort = order_sort(order, descending)
    store = ctx.store.tags

    async def fetch(limit: int) -> list[Doc]:
        return await store.page(
            ws,
            query,
            sort,
            after=args.after,
            before=args.before,
            limit=limit,
            from_end=args.from_end,
        )

    page = await read_page(
        args,
        fetch,
        lambda d: sort_values(d, sort),
        lambda values, forward: store.exists_beyond(ws, query, sort, values, forward=forward),
        lambda: store.count(ws, query),
    )
    ctx.loaders.prime_tags(page.docs)
    return page
