"""The tags collection: its indexes and every shape of its queries."""

from __future__ import annotations

from collections.abc import Iterator

from storage.query_shapes.model import (
    BY_ID,
    CHILDREN_ORDER,
    DEPTH_ORDER,
    ID,
    TAGS,
    Index,
    Shape,
    _ix,
    order_sort,
)

# Names and aliases together (it replaces 1.0's unique (ws, nameKey), which an
# existing database may keep: it holds a subset of these keys, so it never
# refuses what this one allows): one entry per element of `nameKeys`, so no key
# of one tag equals a key of another. Partial: a tag on its way out of a merge
# gives its keys up (the target adopts them as aliases) by losing the field,
# and tags written before aliases existed are left out until their keys are
# built (TagStore.build_missing_name_keys) instead of colliding on null.
TAG_NAME_KEYS_UNIQUE = _ix(TAGS, "ws", "nameKeys", unique=True, partial_exists=("nameKeys",))
TAG_SLUG_UNIQUE = _ix(TAGS, "ws", "slug", unique=True)
TAG_BY_NAME = _ix(TAGS, "ws", "nameKey", "_id")
TAG_BY_CREATED = _ix(TAGS, "ws", "createdAt", "_id")
TAG_BY_UPDATED = _ix(TAGS, "ws", "updatedAt", "_id")
TAG_BY_USAGE = _ix(TAGS, "ws", "usage", "nameKey", "_id")
# Descending usage keeps name ties ascending: no direction of TAG_BY_USAGE gives that.
TAG_BY_USAGE_DESC = _ix(
    TAGS, "ws", ("usage", -1), "nameKey", "_id", name="ws__usage_desc__nameKey___id"
)
TAG_BY_PARENT = _ix(TAGS, "ws", "parentId", "nameKey", "_id")
TAG_BY_ANCESTOR = _ix(TAGS, "ws", "ancestors", "nameKey", "_id")
TAG_BY_DEPTH = _ix(TAGS, "ws", "depth", "nameKey", "_id")
TAG_BY_CATEGORY = _ix(TAGS, "ws", "categoryKey", "nameKey", "_id")
TAG_BY_CREATOR = _ix(TAGS, "ws", "createdBy", "nameKey", "_id")
# (1.2) `tags` lists either the tags that are not archived (the default: the
# field is absent, which `archived: null` matches by equality) or the archived
# ones (`archived: true`), so both are one equality followed by the NAME order.
# Not partial: it serves the default list, whose tags lack the field.
TAG_BY_ARCHIVED = _ix(TAGS, "ws", "archived", "nameKey", "_id")
# similarTags' prefilter: one $in of a few lengths and a compact form on the
# tags' similarKeys (storage/tags.py), point intervals on every planner.
TAG_BY_SIMILAR_KEY = _ix(TAGS, "ws", "similarKeys")
# Indexes that earlier versions built and no shape uses now: dropped at start-up
# so that no write keeps paying for them. (ws, searchKeys) served similarTags'
# regex prefilter, which SecantusDB's Rust server compiled once per index key.
RETIRED_INDEXES: dict[str, tuple[str, ...]] = {TAGS: ("ws__searchKeys",)}


# Filters of `tags(filter:)` that bind a field by equality and have an index with
# the NAME order after it; any filter may also be combined with the others.
TAG_FILTERS: dict[str, tuple[str, Index]] = {
    "parentId": ("parentId", TAG_BY_PARENT),
    "descendantOf": ("ancestors", TAG_BY_ANCESTOR),
    "isRoot": ("depth", TAG_BY_DEPTH),
    "category": ("categoryKey", TAG_BY_CATEGORY),
    "createdBy": ("createdBy", TAG_BY_CREATOR),
    "archived": ("archived", TAG_BY_ARCHIVED),
}
# Every field a tag filter can put in a query. `archived` is in every list query
# unless `filter.archived` is null: with another filter or order it is checked on
# the tags that filter's or order's index fetches.
TAG_FILTER_FIELDS = frozenset(
    {"searchKeys", "categoryKey", "depth", "parentId", "ancestors", "_id", "createdBy", "archived"}
)
ORDER_INDEX: dict[tuple[str, bool], Index] = {
    ("NAME", False): TAG_BY_NAME,
    ("NAME", True): TAG_BY_NAME,
    ("CREATED_AT", False): TAG_BY_CREATED,
    ("CREATED_AT", True): TAG_BY_CREATED,
    ("UPDATED_AT", False): TAG_BY_UPDATED,
    ("UPDATED_AT", True): TAG_BY_UPDATED,
    ("USAGE_COUNT", False): TAG_BY_USAGE,
    ("USAGE_COUNT", True): TAG_BY_USAGE_DESC,
}


def tag_pages() -> Iterator[Shape]:
    for (order, descending), index in ORDER_INDEX.items():
        sort = tuple(order_sort(order, descending))
        direction = "desc" if descending else "asc"
        for keyset in (False, True):
            suffix = ".after_cursor" if keyset else ""
            yield Shape(
                f"tags.page.{order}.{direction}{suffix}",
                TAGS,
                "find",
                index,
                equality=("ws",),
                ranges=(sort[0][0],) if keyset else (),
                sort=sort,
                residual=TAG_FILTER_FIELDS,
                keyset=keyset,
                note="other filters, search and ids are checked on the fetched tags",
            )
            if order != "NAME":
                continue
            for filter_name, (fld, filter_index) in TAG_FILTERS.items():
                yield Shape(
                    f"tags.page.{filter_name}.{order}.{direction}{suffix}",
                    TAGS,
                    "find",
                    filter_index,
                    equality=("ws", fld),
                    ranges=(sort[0][0],) if keyset else (),
                    sort=sort,
                    residual=TAG_FILTER_FIELDS - {fld},
                    keyset=keyset,
                )


def tag_counts() -> Iterator[Shape]:
    yield Shape(
        "tags.count",
        TAGS,
        "count",
        TAG_BY_NAME,
        equality=("ws",),
        residual=TAG_FILTER_FIELDS,
    )
    for filter_name, (fld, filter_index) in TAG_FILTERS.items():
        yield Shape(
            f"tags.count.{filter_name}",
            TAGS,
            "count",
            filter_index,
            equality=("ws", fld),
            residual=TAG_FILTER_FIELDS - {fld},
        )


def tag_rankings() -> Iterator[Shape]:
    """RELEVANCE reads the key fields of every match, unsorted: the service ranks them."""
    yield Shape(
        "tags.ranking_candidates",
        TAGS,
        "find",
        TAG_BY_NAME,
        equality=("ws",),
        residual=TAG_FILTER_FIELDS,
        note="RELEVANCE order; the search is checked on the fetched tags",
    )
    for filter_name, (fld, filter_index) in TAG_FILTERS.items():
        yield Shape(
            f"tags.ranking_candidates.{filter_name}",
            TAGS,
            "find",
            filter_index,
            equality=("ws", fld),
            residual=TAG_FILTER_FIELDS - {fld},
        )


# The other reads and writes of tags: similarTags first (where a plainer shape
# also fits a command, the first listed wins a tie).
OTHER_SHAPES: tuple[Shape, ...] = (
    Shape(
        "tags.similar_candidates",
        TAGS,
        "find",
        TAG_BY_SIMILAR_KEY,
        equality=("ws", "similarKeys"),
        note="similarTags: the lengths of the edit window and the compact form, one $in",
    ),
    Shape(
        "tags.by_ids",
        TAGS,
        "find",
        ID[TAGS],
        equality=("_id",),
        sort=BY_ID,
        residual=frozenset({"ws", "deleting", "changesPending"}),
        note="loaders (tag_by_id, usage_by_tag_id), nodes, repair, history fix-ups",
    ),
    Shape(
        "tags.with_descendants",
        TAGS,
        "find",
        None,
        equality=("ws",),
        or_branches=((("_id",), ID[TAGS]), (("ancestors",), TAG_BY_ANCESTOR)),
        note="mongod plans each $or branch on its own index",
    ),
    Shape("tags.by_slug", TAGS, "find", TAG_SLUG_UNIQUE, equality=("ws", "slug")),
    Shape(
        "tags.slugs_like",
        TAGS,
        "find",
        TAG_SLUG_UNIQUE,
        equality=("ws",),
        ranges=("slug",),
        note="an anchored regex is a range on slug",
    ),
    Shape(
        "tags.by_name_keys",
        TAGS,
        "find",
        TAG_NAME_KEYS_UNIQUE,
        equality=("ws", "nameKeys"),
        note="tagByName, tagNames, and naming a conflict: names and aliases alike",
    ),
    Shape(
        "tags.children",
        TAGS,
        "find",
        TAG_BY_PARENT,
        equality=("ws", "parentId"),
        sort=CHILDREN_ORDER,
        note="loader; by parent, then by name",
    ),
    Shape(
        "tags.child_counts",
        TAGS,
        "aggregate",
        TAG_BY_PARENT,
        equality=("ws", "parentId"),
        sort=CHILDREN_ORDER,
        note="loader",
    ),
    Shape("tags.subtree", TAGS, "find", TAG_BY_ANCESTOR, equality=("ws", "ancestors")),
    Shape(
        "tags.deepest_below",
        TAGS,
        "aggregate",
        TAG_BY_ANCESTOR,
        equality=("ws", "ancestors"),
        note="$max of depth over the subtree",
    ),
    Shape(
        "tags.update_subtree",
        TAGS,
        "update",
        TAG_BY_ANCESTOR,
        equality=("ws", "ancestors"),
    ),
    Shape(
        "tags.update_children",
        TAGS,
        "update",
        TAG_BY_PARENT,
        equality=("ws", "parentId"),
    ),
    Shape(
        "tags.update_by_ids",
        TAGS,
        "update",
        ID[TAGS],
        equality=("_id",),
        residual=frozenset({"ws", "deleting", "archived", "updatedAt", "ancestors"}),
        note=(
            "archiveTags / restoreTags change only live tags not yet in the new state;"
            " importTags (TagStore.update_each) only tags still as it read them"
        ),
    ),
    Shape(
        "tags.find_and_modify",
        TAGS,
        "findAndModify",
        ID[TAGS],
        equality=("_id",),
        # nameKeys: a merge appends aliases only while none of them is there yet.
        residual=frozenset({"ws", "deleting", "parentId", "ancestors", "nameKeys"}),
        note="a move also matches the place it was decided from",
    ),
    Shape(
        "tags.in_depth_order",
        TAGS,
        "find",
        TAG_BY_DEPTH,
        equality=("ws",),
        sort=DEPTH_ORDER,
        residual=frozenset({"deleting"}),
        note="exportTags and importTags read the whole workspace (at most 10 000 tags)",
    ),
    Shape(
        "tags.delete_by_ids",
        TAGS,
        "delete",
        ID[TAGS],
        equality=("_id",),
        residual=frozenset({"ws"}),
    ),
    Shape(
        "tags.all_in_workspace",
        TAGS,
        "find",
        TAG_BY_NAME,
        equality=("ws",),
        residual=frozenset({"deleting"}),
        note="repair of one workspace's paths",
    ),
    Shape(
        "repair.missing_name_keys",
        TAGS,
        "update",
        None,
        residual=frozenset({"nameKeys", "deleting"}),
        whole="builds the name keys of tags stored before aliases existed (at start-up)",
    ),
    Shape(
        "repair.missing_similar_keys",
        TAGS,
        "find",
        ID[TAGS],
        ranges=("_id",),
        sort=(("_id", 1),),
        residual=frozenset({"similarKeys"}),
        keyset=True,
        whole="gives tags stored before 1.2 their similarKeys, a batch at a time (at start-up)",
    ),
    Shape(
        "repair.all_tags",
        TAGS,
        "find",
        None,
        residual=frozenset({"deleting"}),
        whole="repair recomputes every path and counter",
    ),
)
