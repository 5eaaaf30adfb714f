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

The package holds one module per collection (its indexes and shapes), the
registry that lists them all, the rules and the reading of sent commands;
everything is imported from here.
"""

from __future__ import annotations

from storage.query_shapes.api_keys import API_KEY_BY_CREATED
from storage.query_shapes.changes import (
    CHANGE_BY_ACTOR,
    CHANGE_BY_TAG,
    CHANGE_BY_TIME,
    CHANGE_FILTERS,
)
from storage.query_shapes.model import (
    API_KEYS,
    BY_ID,
    BY_RESOURCE,
    BY_TAG,
    BY_TAG_SORT,
    CHANGES_SORT,
    CHILDREN_ORDER,
    DEPTH_ORDER,
    ID,
    LOCKS,
    MULTIKEY,
    ORDERS,
    RELATED_SORT,
    RESOURCES_SORT,
    TAG_CHANGES,
    TAGGINGS,
    TAGS,
    Index,
    Key,
    Shape,
    Sort,
    order_sort,
)
from storage.query_shapes.registry import INDEXES, SHAPES, indexes_of
from storage.query_shapes.rules import violations
from storage.query_shapes.signatures import Signature, describe, match, signature, signatures_of
from storage.query_shapes.taggings import (
    TAGGING_BY_TAG,
    TAGGING_BY_TAG_TYPE,
    TAGGING_SLOT_UNIQUE,
    TAGGING_TAG_ONLY,
    TAGGING_UNIQUE,
)
from storage.query_shapes.tags import (
    ORDER_INDEX,
    RETIRED_INDEXES,
    TAG_BY_ANCESTOR,
    TAG_BY_ARCHIVED,
    TAG_BY_CATEGORY,
    TAG_BY_CREATED,
    TAG_BY_CREATOR,
    TAG_BY_DEPTH,
    TAG_BY_NAME,
    TAG_BY_PARENT,
    TAG_BY_SIMILAR_KEY,
    TAG_BY_UPDATED,
    TAG_BY_USAGE,
    TAG_BY_USAGE_DESC,
    TAG_FILTER_FIELDS,
    TAG_FILTERS,
    TAG_NAME_KEYS_UNIQUE,
    TAG_SLUG_UNIQUE,
)

__all__ = [
    "API_KEYS",
    "API_KEY_BY_CREATED",
    "BY_ID",
    "BY_RESOURCE",
    "BY_TAG",
    "BY_TAG_SORT",
    "CHANGES_SORT",
    "CHANGE_BY_ACTOR",
    "CHANGE_BY_TAG",
    "CHANGE_BY_TIME",
    "CHANGE_FILTERS",
    "CHILDREN_ORDER",
    "DEPTH_ORDER",
    "ID",
    "INDEXES",
    "LOCKS",
    "MULTIKEY",
    "ORDERS",
    "ORDER_INDEX",
    "RELATED_SORT",
    "RESOURCES_SORT",
    "RETIRED_INDEXES",
    "SHAPES",
    "TAGGINGS",
    "TAGGING_BY_TAG",
    "TAGGING_BY_TAG_TYPE",
    "TAGGING_SLOT_UNIQUE",
    "TAGGING_TAG_ONLY",
    "TAGGING_UNIQUE",
    "TAGS",
    "TAG_BY_ANCESTOR",
    "TAG_BY_ARCHIVED",
    "TAG_BY_CATEGORY",
    "TAG_BY_CREATED",
    "TAG_BY_CREATOR",
    "TAG_BY_DEPTH",
    "TAG_BY_NAME",
    "TAG_BY_PARENT",
    "TAG_BY_SIMILAR_KEY",
    "TAG_BY_UPDATED",
    "TAG_BY_USAGE",
    "TAG_BY_USAGE_DESC",
    "TAG_CHANGES",
    "TAG_FILTERS",
    "TAG_FILTER_FIELDS",
    "TAG_NAME_KEYS_UNIQUE",
    "TAG_SLUG_UNIQUE",
    "Index",
    "Key",
    "Shape",
    "Signature",
    "Sort",
    "describe",
    "indexes_of",
    "match",
    "order_sort",
    "signature",
    "signatures_of",
    "violations",
]
