"""What the registry is made of: indexes, shapes, sort orders and collection names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


ID = {c: _ix(c, "_id") for c in (TAGS, TAGGINGS, API_KEYS, LOCKS, TAG_CHANGES)}


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
