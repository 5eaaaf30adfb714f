"""The taggings collection (associations): its indexes and every shape of its queries."""

from __future__ import annotations

from storage.query_shapes.model import (
    BY_RESOURCE,
    BY_TAG,
    BY_TAG_SORT,
    ID,
    RELATED_SORT,
    TAGGINGS,
    Shape,
    _ix,
)

TAGGING_UNIQUE = _ix(TAGGINGS, "ws", "rk", "tagId", unique=True)
TAGGING_BY_TAG = _ix(TAGGINGS, "ws", "tagId", ("at", -1), "rk")
TAGGING_BY_TAG_TYPE = _ix(TAGGINGS, "ws", "tagId", "rtype", ("at", -1), "rk")
TAGGING_TAG_ONLY = _ix(TAGGINGS, "tagId")
# (1.1) At most one association per (resource, exclusive parent): an association
# of a child of an exclusive tag carries the parent's id as `slot`. Partial, so
# associations without a slot (most of them) are not in it.
TAGGING_SLOT_UNIQUE = _ix(TAGGINGS, "ws", "rk", "slot", unique=True, partial_exists=("slot",))


SHAPES: tuple[Shape, ...] = (
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
)
