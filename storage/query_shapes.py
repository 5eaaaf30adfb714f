"""Every query shape the storage layer sends, and the index meant to serve it.

The indexes are declared here and nowhere else (each store's `ensure_indexes`
creates the ones of its collection), next to the shapes they exist for. A shape
is what a planner sees of a query: the collection and command, the fields the
filter binds by equality (`$in` counts), the fields it bounds by a range, the
sort, and the fields only checked on the fetched documents (residual).

`violations` applies MongoDB's planning rules to a shape: the equality fields
form the index prefix, then come the sort keys in the same or exactly reversed
directions, then ranges; so on mongod the shape needs neither a collection scan
nor a blocking sort. `match` tells which shape a command actually sent belongs
to; tests/storage/test_query_shapes.py records the commands the storage layer sends and
fails on any that matches no shape here, so this list cannot drift from the code.

A few repair passes read a whole collection by design (`whole` says why): they
recompute derived data from everything there is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.unique_claims import RESEAT_COMMENT

Key = tuple[str, int]
Sort = Sequence[Key]

TAGS = "tags"
TAGGINGS = "taggings"
API_KEYS = "api_keys"
LOCKS = "locks"
TAG_CHANGES = "tag_changes"

# Fields that hold arrays: a multikey index never provides a sort on them.
MULTIKEY = frozenset({"ancestors", "nameKeys", "searchKeys", "similarKeys"})

_RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})


@dataclass(frozen=True, slots=True)
class Index:
    collection: str
    keys: tuple[Key, ...]
    unique: bool = False
    # Names list their fields (a duplicate-key message is read back by them);
    # only an index whose fields repeat another's with other directions needs its own.
    name: str | None = None
    # A partial index holds only the documents that have these fields
    # (`partialFilterExpression: {field: {$exists: true}}`).
    partial_exists: tuple[str, ...] = ()

    @property
    def partial_filter(self) -> dict[str, Any] | None:
        if not self.partial_exists:
            return None
        return {f: {"$exists": True} for f in self.partial_exists}

    @property
    def index_name(self) -> str:
        if self.keys == (("_id", 1),):
            return "_id_"
        return self.name or "__".join(f for f, _ in self.keys)

    @property
    def driver_options(self) -> dict[str, Any]:
        """The options of the driver's `create_index` that build this index."""
        options: dict[str, Any] = {"unique": self.unique, "name": self.index_name}
        if self.partial_exists:
            options["partialFilterExpression"] = self.partial_filter
        return options

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.keys)

    def describe(self) -> str:
        return "{" + ", ".join(f"{f}: {d}" for f, d in self.keys) + "}"


def _ix(
    collection: str,
    *keys: str | Key,
    unique: bool = False,
    name: str | None = None,
    partial_exists: tuple[str, ...] = (),
) -> Index:
    return Index(
        collection,
        tuple(k if isinstance(k, tuple) else (k, 1) for k in keys),
        unique,
        name,
        partial_exists,
    )


# Orders an index provides, asked for by reads where any order would do:
# SecantusDB's Rust server, given no sort, works out the order mongod's plan
# would return by running the candidate plans (every index on `ws` is one), at
# 10-25 times the cost of the read itself (README "The embedded store").
BY_ID: tuple[Key, ...] = (("_id", 1),)
CHILDREN_ORDER: tuple[Key, ...] = (("parentId", 1), ("nameKey", 1), ("_id", 1))
BY_RESOURCE: tuple[Key, ...] = (("rk", 1), ("tagId", 1))
BY_TAG: tuple[Key, ...] = (("tagId", 1), ("at", -1), ("rk", 1))


# Sort orders (the cursor of a list carries these values) -----------------------

# Ordering by usage breaks ties by name ascending whatever the direction.
ORDERS: dict[str, tuple[Key, ...]] = {
    "NAME": (("nameKey", 1), ("_id", 1)),
    "CREATED_AT": (("createdAt", 1), ("_id", 1)),
    "UPDATED_AT": (("updatedAt", 1), ("_id", 1)),
    "USAGE_COUNT": (("usage", 1), ("nameKey", 1), ("_id", 1)),
}


def order_sort(order: str, descending: bool) -> list[Key]:
    sort = list(ORDERS[order])
    if descending:
        sort[0] = (sort[0][0], -1)
        if order != "USAGE_COUNT":
            sort[1] = (sort[1][0], -1)
    return sort


# (1.2) exportTags and importTags: roots first, each level by name (TAG_BY_DEPTH).
DEPTH_ORDER: tuple[Key, ...] = (("depth", 1), ("nameKey", 1), ("_id", 1))
# Tag.resources: most recently tagged first, ties by resource type then id.
BY_TAG_SORT: tuple[Key, ...] = (("at", -1), ("rk", 1))
# Tag.related: many tags' taggings, each tag's newest first (TAGGING_BY_TAG order).
RELATED_SORT: tuple[Key, ...] = (("tagId", 1), ("at", -1), ("rk", 1))
# taggedResources: the aggregate's group key is the rk, its latest time `at`.
RESOURCES_SORT: tuple[Key, ...] = (("at", -1), ("_id", 1))
# (1.2) tagChanges and Tag.history: newest first, ties by id (descending too).
CHANGES_SORT: tuple[Key, ...] = (("at", -1), ("_id", -1))


# Indexes ----------------------------------------------------------------------

ID = {c: _ix(c, "_id") for c in (TAGS, TAGGINGS, API_KEYS, LOCKS, TAG_CHANGES)}

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

TAGGING_UNIQUE = _ix(TAGGINGS, "ws", "rk", "tagId", unique=True)
TAGGING_BY_TAG = _ix(TAGGINGS, "ws", "tagId", ("at", -1), "rk")
TAGGING_BY_TAG_TYPE = _ix(TAGGINGS, "ws", "tagId", "rtype", ("at", -1), "rk")
TAGGING_TAG_ONLY = _ix(TAGGINGS, "tagId")
# (1.1) At most one association per (resource, exclusive parent): an association
# of a child of an exclusive tag carries the parent's id as `slot`. Partial, so
# associations without a slot (most of them) are not in it.
TAGGING_SLOT_UNIQUE = _ix(TAGGINGS, "ws", "rk", "slot", unique=True, partial_exists=("slot",))

API_KEY_BY_CREATED = _ix(API_KEYS, "createdAt")

# (1.2) The change history: the workspace's log, one tag's, one actor's. Each
# ends in the sort (at, _id), read backwards for newest first. The TTL index
# on `at` alone (storage/history.py) is no query's index: it only expires.
CHANGE_BY_TIME = _ix(TAG_CHANGES, "ws", "at", "_id")
CHANGE_BY_TAG = _ix(TAG_CHANGES, "ws", "tagId", "at", "_id")
CHANGE_BY_ACTOR = _ix(TAG_CHANGES, "ws", "actor", "at", "_id")

INDEXES: tuple[Index, ...] = (
    TAG_NAME_KEYS_UNIQUE,
    TAG_SLUG_UNIQUE,
    TAG_BY_NAME,
    TAG_BY_CREATED,
    TAG_BY_UPDATED,
    TAG_BY_USAGE,
    TAG_BY_USAGE_DESC,
    TAG_BY_PARENT,
    TAG_BY_ANCESTOR,
    TAG_BY_DEPTH,
    TAG_BY_CATEGORY,
    TAG_BY_CREATOR,
    TAG_BY_ARCHIVED,
    TAG_BY_SIMILAR_KEY,
    TAGGING_UNIQUE,
    TAGGING_BY_TAG,
    TAGGING_BY_TAG_TYPE,
    TAGGING_TAG_ONLY,
    TAGGING_SLOT_UNIQUE,
    API_KEY_BY_CREATED,
    CHANGE_BY_TIME,
    CHANGE_BY_TAG,
    CHANGE_BY_ACTOR,
)


def indexes_of(collection: str) -> list[Index]:
    return [ix for ix in INDEXES if ix.collection == collection]


# Shapes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    collection: str
    # find, count (count_documents), aggregate (a pipeline's leading $match),
    # update, delete, findAndModify.
    command: str
    index: Index | None
    equality: tuple[str, ...] = ()
    ranges: tuple[str, ...] = ()
    sort: tuple[Key, ...] = ()
    residual: frozenset[str] = frozenset()
    # After a cursor: a range on the first sort key, ties broken in an $or over the sort keys.
    keyset: bool = False
    # An $or whose branches bind these fields by equality, each with its own index.
    or_branches: tuple[tuple[tuple[str, ...], Index], ...] = ()
    whole: str = ""
    note: str = ""


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


def _tag_pages() -> Iterator[Shape]:
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


# (1.2) tagChanges' narrowing arguments, each with its index; the other one (both
# given) is checked on the fetched entries.
CHANGE_FILTERS: dict[str, tuple[str | None, Index]] = {
    "all": (None, CHANGE_BY_TIME),
    "by_tag": ("tagId", CHANGE_BY_TAG),
    "by_actor": ("actor", CHANGE_BY_ACTOR),
}


def _change_pages() -> Iterator[Shape]:
    for name, (fld, index) in CHANGE_FILTERS.items():
        equality = ("ws",) if fld is None else ("ws", fld)
        residual = frozenset({"tagId", "actor"}) - {fld}
        for keyset in (False, True):
            yield Shape(
                f"changes.{name}.page" + (".after_cursor" if keyset else ""),
                TAG_CHANGES,
                "find",
                index,
                equality=equality,
                ranges=("at",) if keyset else (),
                sort=CHANGES_SORT,
                residual=residual,
                keyset=keyset,
                note="tagChanges (by_tag: also Tag.history's $unionWith branches)",
            )
        yield Shape(
            f"changes.{name}.count",
            TAG_CHANGES,
            "count",
            index,
            equality=equality,
            residual=residual,
            note="only for hasPreviousPage of an empty page after a cursor",
        )


def _tag_counts() -> Iterator[Shape]:
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


def _tag_rankings() -> Iterator[Shape]:
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


_OTHER_SHAPES: tuple[Shape, ...] = (
    Shape(
        "tags.similar_candidates",
        TAGS,
        "find",
        TAG_BY_SIMILAR_KEY,
        equality=("ws", "similarKeys"),
        note="similarTags: the lengths of the edit window and the compact form, one $in",
    ),
    # Tags ---------------------------------------------------------------------
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
    # Taggings -----------------------------------------------------------------
    Shape(
        "taggings.of_resources",
        TAGGINGS,
        "find",
        TAGGING_UNIQUE,
        equality=("ws", "rk"),
        sort=BY_RESOURCE,
        note="loader",
    ),
    Shape(
        "taggings.counts_per_resource",
        TAGGINGS,
        "aggregate",
        TAGGING_UNIQUE,
        equality=("ws", "rk"),
        sort=BY_RESOURCE,
    ),
    Shape(
        "taggings.remove_pairs",
        TAGGINGS,
        "delete",
        TAGGING_UNIQUE,
        equality=("ws", "rk", "tagId"),
    ),
    Shape(
        "taggings.clear_slots",
        TAGGINGS,
        "update",
        TAGGING_SLOT_UNIQUE,
        equality=("ws", "rk", "slot"),
        residual=frozenset({"tagId"}),
        note="a slot whose holder is no longer a child of that exclusive tag",
    ),
    Shape(
        "taggings.of_tags",
        TAGGINGS,
        "find",
        TAGGING_BY_TAG,
        equality=("ws", "tagId"),
        sort=BY_TAG,
    ),
    Shape(
        "taggings.remove_tags",
        TAGGINGS,
        "delete",
        TAGGING_BY_TAG,
        equality=("ws", "tagId"),
        note="one statement per tag, calls grouped by usage",
    ),
    Shape(
        "taggings.remove_written",
        TAGGINGS,
        "delete",
        ID[TAGGINGS],
        equality=("_id",),
        note="at most 100 ids a statement, about 1000 a call",
    ),
    Shape(
        "taggings.by_tag.page",
        TAGGINGS,
        "find",
        TAGGING_BY_TAG,
        equality=("ws", "tagId"),
        sort=BY_TAG_SORT,
    ),
    Shape(
        "taggings.by_tag.page.after_cursor",
        TAGGINGS,
        "find",
        TAGGING_BY_TAG,
        equality=("ws", "tagId"),
        ranges=("at",),
        sort=BY_TAG_SORT,
        keyset=True,
    ),
    Shape(
        "taggings.by_type.page",
        TAGGINGS,
        "find",
        TAGGING_BY_TAG_TYPE,
        equality=("ws", "tagId", "rtype"),
        sort=BY_TAG_SORT,
    ),
    Shape(
        "taggings.by_type.page.after_cursor",
        TAGGINGS,
        "find",
        TAGGING_BY_TAG_TYPE,
        equality=("ws", "tagId", "rtype"),
        ranges=("at",),
        sort=BY_TAG_SORT,
        keyset=True,
    ),
    Shape("taggings.by_tag.count", TAGGINGS, "count", TAGGING_BY_TAG, equality=("ws", "tagId")),
    Shape(
        "taggings.by_type.count",
        TAGGINGS,
        "count",
        TAGGING_BY_TAG_TYPE,
        equality=("ws", "tagId", "rtype"),
    ),
    Shape(
        "taggings.resources",
        TAGGINGS,
        "aggregate",
        TAGGING_BY_TAG,
        equality=("ws", "tagId"),
        note=(
            "taggedResources (and its tagCounts: the resources' other tags by a $lookup"
            " on (ws, rk), the unique index): grouped by resource, then sorted"
        ),
    ),
    Shape(
        "taggings.resources_of_type",
        TAGGINGS,
        "aggregate",
        TAGGING_BY_TAG_TYPE,
        equality=("ws", "tagId", "rtype"),
        note="taggedResources(resourceType:): grouped, then sorted by the latest time",
    ),
    Shape(
        "taggings.related",
        TAGGINGS,
        "aggregate",
        TAGGING_BY_TAG,
        equality=("ws",),
        sort=RELATED_SORT,
        residual=frozenset({"tagId"}),
        note=(
            "Tag.related for many tags: an $in on tagId read in index order; the"
            " resources' other tags come by a $lookup on (ws, rk), the unique index"
        ),
    ),
    Shape(
        "taggings.by_tag_ids",
        TAGGINGS,
        "aggregate",
        TAGGING_TAG_ONLY,
        equality=("tagId",),
        note="recount of some tags",
    ),
    Shape(
        "taggings.remove_for_tags",
        TAGGINGS,
        "delete",
        TAGGING_TAG_ONLY,
        equality=("tagId",),
        note="repair: associations of tags that no longer exist",
    ),
    Shape(
        "repair.tagging_tag_ids",
        TAGGINGS,
        "aggregate",
        TAGGING_TAG_ONLY,
        sort=(("tagId", 1),),
        whole="every tag id in use, read off the index (a distinct scan)",
    ),
    Shape(
        "repair.all_taggings",
        TAGGINGS,
        "aggregate",
        None,
        whole="repair recounts every usage counter",
    ),
    # Tree locks ---------------------------------------------------------------
    Shape(
        "locks.take",
        LOCKS,
        "findAndModify",
        ID[LOCKS],
        equality=("_id",),
        residual=frozenset({"until"}),
        note="take a workspace's tree lock whose lease has ended (upserted)",
    ),
    Shape(
        "locks.by_holder",
        LOCKS,
        "update",
        ID[LOCKS],
        equality=("_id",),
        residual=frozenset({"holder"}),
        note="renew or release the lock its holder holds",
    ),
    # Change history (1.2) ---------------------------------------------------------
    Shape(
        "changes.by_ids",
        TAG_CHANGES,
        "find",
        ID[TAG_CHANGES],
        equality=("_id",),
        sort=BY_ID,
        residual=frozenset({"ws"}),
        note="node(id:) of a TagChange; a recorder's check of what it already wrote",
    ),
    Shape(
        "changes.delete_by_ids",
        TAG_CHANGES,
        "delete",
        ID[TAG_CHANGES],
        equality=("_id",),
        note="an import taken back takes back its entries",
    ),
    Shape(
        "changes.history_of_tags",
        TAG_CHANGES,
        "aggregate",
        CHANGE_BY_TAG,
        equality=("ws", "tagId"),
        ranges=("at",),
        sort=CHANGES_SORT,
        keyset=True,
        note="Tag.history of a page of tags: one branch per tag, each after its cursor",
    ),
    Shape(
        "changes.history_of_tags.first_page",
        TAG_CHANGES,
        "aggregate",
        CHANGE_BY_TAG,
        equality=("ws", "tagId"),
        sort=CHANGES_SORT,
        note="Tag.history of a page of tags: one $unionWith branch per tag, each a range",
    ),
    Shape(
        "repair.pending_changes",
        TAGS,
        "find",
        None,
        residual=frozenset({"changesPending"}),
        whole="history entries a crash left in their tags, not yet in the history",
    ),
    # API keys -----------------------------------------------------------------
    Shape("api_keys.by_id", API_KEYS, "find", ID[API_KEYS], equality=("_id",)),
    Shape(
        "api_keys.revoke",
        API_KEYS,
        "update",
        ID[API_KEYS],
        equality=("_id",),
        residual=frozenset({"revokedAt"}),
    ),
    Shape(
        "api_keys.all",
        API_KEYS,
        "find",
        API_KEY_BY_CREATED,
        sort=(("createdAt", 1),),
        whole="lists every key, in index order",
    ),
)

# Rankings last: a ranking always carries a search, so where a plainer shape also
# fits a command (the same fields bound, no search), that shape is the one it is.
SHAPES: tuple[Shape, ...] = (
    *_tag_pages(),
    *_tag_counts(),
    *_change_pages(),
    *_OTHER_SHAPES,
    *_tag_rankings(),
)


# The rules ----------------------------------------------------------------------


def _serves(index: Index, equality: Iterable[str], ranges: Sequence[str], sort: Sort) -> list[str]:
    """Why `index` cannot serve this query by MongoDB's rules (empty when it can)."""
    problems: list[str] = []
    fields = index.fields
    eq = set(equality)
    # The leading keys bound by equality; an index may bind fewer than the filter has
    # (the rest is checked on the fetched documents), never a key the filter leaves open.
    prefix = 0
    while prefix < len(fields) and fields[prefix] in eq:
        prefix += 1
    if prefix == 0 and eq:
        problems.append(f"{index.index_name} does not start with an equality field")
    start = prefix
    if sort:
        # The sort may start inside the equality prefix: a key bound to one value
        # is sorted already, and one bound by an `$in` is read interval by
        # interval in key order (`_matches` allows an `$in` only on a sort key).
        start = next(
            (
                j
                for j in range(prefix, -1, -1)
                if [f for f, _ in index.keys[j : j + len(sort)]] == [f for f, _ in sort]
            ),
            prefix,
        )
        after = index.keys[start : start + len(sort)]
        if len(after) < len(sort) or [f for f, _ in after] != [f for f, _ in sort]:
            problems.append(f"{index.index_name} does not continue with the sort keys {sort}")
        else:
            same = all(d == s for (_, d), (_, s) in zip(after, sort, strict=True))
            reverse = all(d == -s for (_, d), (_, s) in zip(after, sort, strict=True))
            if not (same or reverse):
                problems.append(f"{index.index_name} mixes the sort's directions {sort}")
        multikey = MULTIKEY.intersection(f for f, _ in sort)
        if multikey:
            problems.append(f"a multikey field cannot provide a sort: {sorted(multikey)}")
    bounded = max(prefix, start + len(sort))
    for fld in ranges:
        if sort:
            # On the first sort key (a cursor) or after the sort keys (checked on the keys).
            fits = fld == sort[0][0] or fld in fields[bounded:]
        else:
            fits = prefix < len(fields) and fields[prefix] == fld
        if not fits:
            problems.append(f"range on {fld} is not after the equality and sort keys")
    return problems


def violations(shape: Shape) -> list[str]:
    """What keeps mongod from serving `shape` with an index and no blocking sort."""
    problems: list[str] = []
    declared = set(INDEXES) | set(ID.values())
    if shape.whole:
        if not shape.name.startswith(("repair.", "api_keys.")):
            problems.append("only repair passes and the key listing may read a whole collection")
        if shape.sort and (
            shape.index is None or shape.index.keys[: len(shape.sort)] != shape.sort
        ):
            problems.append("a whole-collection read in order needs an index in that order")
        return problems
    if shape.index is None and not shape.or_branches:
        return ["no index"]
    indexes = [shape.index] if shape.index is not None else []
    if shape.index is not None:
        problems += _serves(shape.index, shape.equality, shape.ranges, shape.sort)
    if shape.or_branches and shape.sort:
        problems.append("an $or with a sort needs a merge of sorted branches; not planned for")
    for fields, index in shape.or_branches:
        indexes.append(index)
        problems += _serves(index, {*shape.equality, *fields}, (), ())
    for index in indexes:
        if index not in declared:
            problems.append(f"{index.index_name} is not a declared index")
        if index.collection != shape.collection:
            problems.append(f"{index.index_name} is on {index.collection}")
    if shape.keyset and (not shape.sort or shape.sort[0][0] not in shape.ranges):
        problems.append("a page after a cursor bounds its first sort key")
    return problems


# What a command sent looks like ---------------------------------------------------


@dataclass
class Signature:
    """A sent filter, reduced to what a planner uses."""

    collection: str
    command: str
    # field -> the largest number of values bound by equality ($in of n counts n).
    equality: dict[str, int] = field(default_factory=dict)
    ranges: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)
    ors: list[list[set[str]]] = field(default_factory=list)
    sort: tuple[Key, ...] = ()

    def fields(self) -> set[str]:
        return {*self.equality, *self.ranges, *self.other}


def _is_operator_doc(value: Any) -> bool:
    return isinstance(value, Mapping) and any(str(k).startswith("$") for k in value)


def _add_condition(sig: Signature, name: str, value: Any) -> None:
    if not _is_operator_doc(value):
        sig.equality[name] = max(sig.equality.get(name, 0), 1)
        return
    for op, arg in value.items():
        if op == "$in":
            sig.equality[name] = max(sig.equality.get(name, 0), len(arg))
        elif op == "$eq":
            sig.equality[name] = max(sig.equality.get(name, 0), 1)
        elif op in _RANGE_OPS or (op == "$regex" and str(arg).startswith("^")):
            # An anchored regex is a range on the index; any other is checked per key.
            sig.ranges.add(name)
        else:
            sig.other.add(name)


def _add_filter(sig: Signature, query: Mapping[str, Any]) -> None:
    for key, value in query.items():
        if key == "$and":
            for part in value:
                _add_filter(sig, part)
        elif key == "$or":
            branches = []
            for branch in value:
                inner = Signature(sig.collection, sig.command)
                _add_filter(inner, branch)
                branches.append(inner.fields())
            sig.ors.append(branches)
        else:
            _add_condition(sig, key, value)


def signature(
    collection: str, command: str, query: Mapping[str, Any] | None, sort: Sort | None = None
) -> Signature:
    sig = Signature(collection, command, sort=tuple((f, int(d)) for f, d in (sort or ())))
    _add_filter(sig, query or {})
    return sig


def signatures_of(command_name: str, command: Mapping[str, Any]) -> list[Signature]:
    """The query shapes in one command as the driver sent it (none for inserts and the like)."""
    if command.get("comment") == RESEAT_COMMENT:
        return []
    if command_name == "find":
        return [signature(command["find"], "find", command.get("filter"), _sort(command))]
    if command_name == "findAndModify":
        return [
            signature(
                command["findAndModify"], "findAndModify", command.get("query"), _sort(command)
            )
        ]
    if command_name == "update":
        return [signature(command["update"], "update", u["q"]) for u in command["updates"]]
    if command_name == "delete":
        return [signature(command["delete"], "delete", d["q"]) for d in command["deletes"]]
    if command_name == "count":
        return [signature(command["count"], "count", command.get("query"))]
    if command_name == "aggregate":
        pipeline = list(command["pipeline"])
        if pipeline and "$changeStream" in pipeline[0]:
            return []
        collection = command["aggregate"]
        return _pipeline_signatures(collection, pipeline)
    return []


def _pipeline_signatures(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Signature]:
    """The shape of a pipeline's head, and of each `$unionWith` branch it reads."""
    found = _head_signature(collection, pipeline)
    for stage in pipeline:
        union = stage.get("$unionWith")
        if isinstance(union, Mapping):
            found += _pipeline_signatures(union.get("coll", collection), union["pipeline"])
    return found


def _head_signature(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Signature]:
    head = pipeline[0] if pipeline else {}
    if "$match" in head:
        rest = pipeline[1:]
        kind = "count" if rest and _is_count_group(rest[0]) and len(rest) == 1 else "aggregate"
        sort = rest[0]["$sort"] if rest and "$sort" in rest[0] else None
        return [signature(collection, kind, head["$match"], _pairs(sort))]
    if "$sort" in head:
        return [signature(collection, "aggregate", {}, _pairs(head["$sort"]))]
    return [signature(collection, "aggregate", {})]


def _is_count_group(stage: Mapping[str, Any]) -> bool:
    # What count_documents sends after its $match.
    group = stage.get("$group")
    return isinstance(group, Mapping) and group.get("_id") == 1 and set(group) == {"_id", "n"}


def _pairs(sort: Mapping[str, Any] | None) -> list[Key] | None:
    return None if sort is None else [(f, int(d)) for f, d in sort.items()]


def _sort(command: Mapping[str, Any]) -> list[Key] | None:
    return _pairs(command.get("sort"))


def _reverse(sort: Sort) -> tuple[Key, ...]:
    return tuple((f, -d) for f, d in sort)


def _matches(shape: Shape, sig: Signature) -> bool:
    if shape.collection != sig.collection or shape.command != sig.command:
        return False
    if sig.sort not in (shape.sort, _reverse(shape.sort)):
        return False
    if any(sig.equality.get(f, 0) == 0 for f in shape.equality):
        return False
    if any(f not in sig.ranges for f in shape.ranges):
        return False
    if shape.sort and any(
        sig.equality[f] > 1 and f not in {k for k, _ in shape.sort} for f in shape.equality
    ):
        # A sort after an $in of several values is a merge of many scans at best;
        # an $in on a sort key is read in that key's order.
        return False
    sort_fields = {f for f, _ in shape.sort}
    if shape.keyset:
        if shape.sort[0][0] not in sig.ranges:
            return False
    elif shape.sort and sort_fields & sig.ranges:
        return False
    allowed = {*shape.equality, *shape.ranges, *shape.residual}
    if not sig.fields() <= allowed:
        return False
    declared = sorted(sorted(f) for f, _ in shape.or_branches)
    for branches in sig.ors:
        keyset_or = shape.keyset and all(b <= sort_fields for b in branches)
        if not keyset_or and sorted(sorted(b) for b in branches) != declared:
            return False
    if shape.or_branches and not sig.ors:
        return False
    # A cursor over several sort keys breaks first-key ties in an $or.
    return not (shape.keyset and len(shape.sort) > 1 and not sig.ors)


def match(sig: Signature) -> Shape | None:
    """The most specific listed shape the sent query belongs to, if any."""
    found = [s for s in SHAPES if _matches(s, sig)]
    if not found:
        return None
    # An exact sort beats a reversed one: a descending page is the descending shape.
    return max(found, key=lambda s: (len(s.equality), len(s.ranges), s.sort == sig.sort))


def describe(sig: Signature) -> str:
    return (
        f"{sig.collection}.{sig.command} eq={sorted(sig.equality)} ranges={sorted(sig.ranges)} "
        f"other={sorted(sig.other)} or={sig.ors} sort={list(sig.sort)}"
    )
