"""Every index, in the order they are created, and every shape, in the order they are matched."""

from __future__ import annotations

from storage.query_shapes import api_keys, changes, locks, taggings, tags
from storage.query_shapes.api_keys import API_KEY_BY_CREATED
from storage.query_shapes.changes import CHANGE_BY_ACTOR, CHANGE_BY_TAG, CHANGE_BY_TIME
from storage.query_shapes.model import Index, Shape
from storage.query_shapes.taggings import (
    TAGGING_BY_TAG,
    TAGGING_BY_TAG_TYPE,
    TAGGING_SLOT_UNIQUE,
    TAGGING_TAG_ONLY,
    TAGGING_UNIQUE,
)
from storage.query_shapes.tags import (
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
    TAG_NAME_KEYS_UNIQUE,
    TAG_SLUG_UNIQUE,
)

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


# Rankings last: a ranking always carries a search, so where a plainer shape also
# fits a command (the same fields bound, no search), that shape is the one it is.
SHAPES: tuple[Shape, ...] = (
    *tags.tag_pages(),
    *tags.tag_counts(),
    *changes.change_pages(),
    *tags.OTHER_SHAPES,
    *taggings.SHAPES,
    *locks.SHAPES,
    *changes.SHAPES,
    *api_keys.SHAPES,
    *tags.tag_rankings(),
)
