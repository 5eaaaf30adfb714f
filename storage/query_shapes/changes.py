"""(1.2) The tag_changes collection (history): its indexes and every shape of its queries."""

from __future__ import annotations

from collections.abc import Iterator

from storage.query_shapes.model import BY_ID, CHANGES_SORT, ID, TAG_CHANGES, TAGS, Index, Shape, _ix

# (1.2) The change history: the workspace's log, one tag's, one actor's. Each
# ends in the sort (at, _id), read backwards for newest first. The TTL index
# on `at` alone (storage/history.py) is no query's index: it only expires.
CHANGE_BY_TIME = _ix(TAG_CHANGES, "ws", "at", "_id")
CHANGE_BY_TAG = _ix(TAG_CHANGES, "ws", "tagId", "at", "_id")
CHANGE_BY_ACTOR = _ix(TAG_CHANGES, "ws", "actor", "at", "_id")


# (1.2) tagChanges' narrowing arguments, each with its index; the other one (both
# given) is checked on the fetched entries.
CHANGE_FILTERS: dict[str, tuple[str | None, Index]] = {
    "all": (None, CHANGE_BY_TIME),
    "by_tag": ("tagId", CHANGE_BY_TAG),
    "by_actor": ("actor", CHANGE_BY_ACTOR),
}


def change_pages() -> Iterator[Shape]:
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


SHAPES: tuple[Shape, ...] = (
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
)
