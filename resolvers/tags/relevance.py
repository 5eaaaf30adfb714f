"""RELEVANCE order of the `tags` list: how well a tag's names match the search.

The rank depends on the search, so no index can hold it: the store returns the
key fields of every match (`TagStore.ranking_candidates`), ranked and cut here
with the same keyset rule as the other orders, and only the page's documents
are then loaded in full. Two store calls per page; `totalCount` and both
`hasNextPage`/`hasPreviousPage` come from the ranked list without another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from resolvers.context import Context
from resolvers.pagination import Page, PageArgs
from storage import AuthorizedWorkspace, Doc, TagQuery
from storage.tags import names_of

EXACT, PREFIX, WORD_PREFIX, SUBSTRING = range(4)
# Not a match at all (the store's filter let it through on another name).
NO_MATCH = 4


def match_rank(key: str, search: str) -> int:
    """How `search` matches one folded name: exact, prefix, word prefix or substring.

    Words are split at spaces and punctuation: a match starts a word when it
    starts the name or follows a character that is neither a letter nor a digit.
    """
    if key == search:
        return EXACT
    if key.startswith(search):
        return PREFIX
    at = key.find(search, 1)
    if at < 0:
        return NO_MATCH
    while at >= 0:
        if not key[at - 1].isalnum():
            return WORD_PREFIX
        at = key.find(search, at + 1)
    return SUBSTRING


def tag_rank(doc: Mapping[str, Any], search: str) -> int:
    """The best rank among every name the tag answers to."""
    return min(match_rank(search_key, search) for _, search_key in names_of(doc))


def relevance_key(doc: Mapping[str, Any], search: str) -> list[Any]:
    """Sort values, all ascending: rank, then usage highest first, then name, then id."""
    return [tag_rank(doc, search), -int(doc.get("usage", 0)), doc["nameKey"], doc["_id"]]


def _ranked(docs: Sequence[Doc], search: str, descending: bool) -> list[tuple[list[Any], str]]:
    keyed = [(relevance_key(d, search), d["_id"]) for d in docs]
    keyed = [(k, i) for k, i in keyed if k[0] != NO_MATCH]
    keyed.sort(key=lambda pair: pair[0], reverse=descending)
    return keyed


def _after(key: list[Any], bound: list[Any], descending: bool) -> bool:
    return key < bound if descending else key > bound


async def relevance_page(
    ctx: Context,
    ws: AuthorizedWorkspace,
    query: TagQuery,
    search: str,
    descending: bool,
    args: PageArgs,
) -> Page:
    ranked = _ranked(await ctx.store.tags.ranking_candidates(ws, query), search, descending)
    window = [
        (key, tag_id)
        for key, tag_id in ranked
        if (args.after is None or _after(key, args.after, descending))
        and (args.before is None or _after(args.before, key, descending))
    ]
    # From the end: the last `limit` items (none for 0, which `[-0:]` would not give).
    start = max(len(window) - args.limit, 0) if args.from_end else 0
    chosen = window[start : start + args.limit]
    more = len(window) > len(chosen)
    docs_by_id: dict[str, Doc] = {}
    if chosen:
        loaded = await ctx.loaders.tag_by_id.load_many([tag_id for _, tag_id in chosen])
        docs_by_id = {d["_id"]: d for d in loaded if d is not None}
    # A tag deleted between the two calls is left out of the page.
    kept = [(key, docs_by_id[tag_id]) for key, tag_id in chosen if tag_id in docs_by_id]
    keys = [key for key, _ in ranked]

    async def beyond(values: Sequence[Any], forward: bool) -> bool:
        bound = list(values)
        if forward:
            return any(_after(k, bound, descending) for k in keys)
        return any(_after(bound, k, descending) for k in keys)

    async def count() -> int:
        return len(ranked)

    return Page([d for _, d in kept], [k for k, _ in kept], args, more, beyond, count)
