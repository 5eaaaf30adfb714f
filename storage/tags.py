"""Tag documents.

One document per tag:

    _id          "tag_" + 24 hex digits
    ws           workspace id
    name         display name;  nameKey: casefolded (unique per ws)
    searchKey    accent- and case-folded name, for substring search
    slug         unique per ws
    color, description, category, categoryKey, metadata, createdBy
    parentId     null for a root; the source of truth of the tree
    ancestors    ids root first, ending with the parent (derived from parentId)
    depth        len(ancestors)
    usage        total taggings;  usageByType: {type with "." as "%": count}
    createdAt, updatedAt
    deleting     present while a delete or merge removes the tag

`ancestors` and `depth` are derived data kept beside `parentId` so that
ancestors, subtree queries and cycle checks need no recursive walk; the repair
routine can always recompute them from `parentId`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage import keyset
from storage.access import AuthorizedWorkspace, Visibility
from storage.collection import BulkOp, Collection, Doc, Sort
from storage.errors import DuplicateKey
from storage.query_shapes import ORDERS as ORDERS
from storage.query_shapes import TAGS, indexes_of
from storage.query_shapes import order_sort as order_sort


def sort_values(doc: Mapping[str, Any], sort: Sort) -> list[Any]:
    return [doc[field] for field, _ in sort]


def type_key(resource_type: str) -> str:
    # Field names cannot contain "."; "%" is not allowed in resource types.
    return resource_type.replace(".", "%")


# A delete or merge flags its tags with `deleting` first and removes them last;
# in between they are on their way out: no longer live, though still in the
# store. `LIVE` says so in a query, `is_live` of a document already read (the
# flag is never falsy: `mark_deleting` stores a merge's target or True).
LIVE: Mapping[str, Any] = {"deleting": {"$exists": False}}
FLAGGED: Mapping[str, Any] = {"deleting": {"$exists": True}}


def is_live(doc: Mapping[str, Any]) -> bool:
    return not doc.get("deleting")


# The names a tag answers to ---------------------------------------------------
# Relevance order and similarTags rank a tag by the best of its names, and list
# it once. Today a tag has one name; aliases join it here and nowhere else: in
# the fields a ranking reads (`NAME_FIELDS`), the stored key a similarity
# prefilter tests (`SIMILAR_KEY`, any element of an array matches) and `names_of`.
NAME_FIELDS: Mapping[str, int] = {
    "_id": 1,
    "ws": 1,
    "name": 1,
    "nameKey": 1,
    "searchKey": 1,
    "usage": 1,
}
SIMILAR_KEY = "searchKey"


def names_of(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name key, search key) of every name the tag answers to, its own name first."""
    return [(doc["nameKey"], doc["searchKey"])]


class Conflict(Exception):
    """A unique name or slug is taken in the workspace."""

    def __init__(self, field: str, index: int | None = None) -> None:
        super().__init__(f"{field} taken")
        self.field = field
        self.index = index


def conflict_from(dup: DuplicateKey) -> Conflict:
    field = "slug" if "slug" in dup.fields else "name"
    return Conflict(field, dup.index)


# Servers cap regex patterns (mongod near 32 KB, SecantusDB at 1000 characters).
# A search is at most 100 characters, but folding can lengthen it many times
# (one presentation form decomposes into 18 characters): such keys are matched
# without a regex.
REGEX_MAX = 1000


@dataclass(frozen=True, slots=True)
class TagQuery:
    """A TagFilter after validation: every text already normalized to its key form.

    `search_pattern` is `search_key` escaped as a literal regex. `ids=()` matches
    nothing: callers need not ask the store (`matches_nothing`).
    """

    search_pattern: str | None = None
    category_key: str | None = None
    parent_id: str | None = None
    is_root: bool | None = None
    descendant_of: str | None = None
    ids: tuple[str, ...] | None = None
    created_by: str | None = None
    search_key: str | None = None

    @property
    def matches_nothing(self) -> bool:
        return self.ids == ()

    def mongo(self, ws: AuthorizedWorkspace) -> dict[str, Any]:
        query: dict[str, Any] = {"ws": ws.id}
        if self.search_pattern:
            if len(self.search_pattern) <= REGEX_MAX or not self.search_key:
                query["searchKey"] = {"$regex": self.search_pattern}
            else:
                # The same substring test: a position of 0 or more is "found".
                query["$expr"] = {"$gte": [{"$indexOfCP": ["$searchKey", self.search_key]}, 0]}
        if self.category_key is not None:
            query["categoryKey"] = self.category_key
        if self.is_root is not None:
            query["depth"] = 0 if self.is_root else {"$gt": 0}
        if self.parent_id is not None:
            query["parentId"] = self.parent_id
        if self.descendant_of is not None:
            query["ancestors"] = self.descendant_of
        if self.ids is not None:
            query["_id"] = {"$in": list(self.ids)}
        if self.created_by is not None:
            query["createdBy"] = self.created_by
        return query


class TagStore:
    def __init__(self, tags: Collection) -> None:
        self._tags = tags

    async def ensure_indexes(self) -> None:
        for index in indexes_of(TAGS):
            await self._tags.create_index(index.keys, unique=index.unique, name=index.name)

    # Reads -----------------------------------------------------------------

    async def by_ids(
        self, ids: Iterable[str], visible: Visibility, projection: Mapping[str, Any] | None = None
    ) -> list[Doc]:
        query = visible.restrict({"_id": {"$in": list(ids)}})
        return await self._tags.find(query, projection=projection)

    async def in_workspace(
        self,
        ws: AuthorizedWorkspace,
        ids: Iterable[str],
        *,
        include_descendants: bool = False,
        full: bool = False,
    ) -> list[Doc]:
        ids = list(ids)
        if not include_descendants:
            return await self._tags.find({"ws": ws.id, "_id": {"$in": ids}})
        return await self._tags.find(
            {"ws": ws.id, "$or": [{"_id": {"$in": ids}}, {"ancestors": {"$in": ids}}]},
            projection=None if full else {"_id": 1, "ancestors": 1},
        )

    async def live_in_workspace(self, ws: AuthorizedWorkspace, ids: Iterable[str]) -> list[Doc]:
        """The tags of these ids in the workspace that are not on their way out."""
        # Filtered after reading, not in the query: the query stays the shape of
        # `in_workspace`, and the id index serves it either way.
        return [doc for doc in await self.in_workspace(ws, ids) if is_live(doc)]

    async def by_slug(self, ws: AuthorizedWorkspace, slug: str) -> Doc | None:
        return await self._tags.find_one({"ws": ws.id, "slug": slug})

    async def by_name_keys(self, ws: AuthorizedWorkspace, keys: Iterable[str]) -> list[Doc]:
        return await self._tags.find({"ws": ws.id, "nameKey": {"$in": list(keys)}})

    async def ranking_candidates(self, ws: AuthorizedWorkspace, query: TagQuery) -> list[Doc]:
        """Every tag the filter matches, with only what ranking reads (`NAME_FIELDS`).

        A rank that depends on the search cannot be kept in an index: the
        matches are ranked by the service, which then loads only one page of
        full documents.
        """
        return await self._tags.find(query.mongo(ws), projection=NAME_FIELDS)

    async def similar_candidates(self, ws: AuthorizedWorkspace, pattern: str | None) -> list[Doc]:
        """Tags whose name key matches the prefilter `pattern` (None: every tag)."""
        query: dict[str, Any] = {"ws": ws.id}
        if pattern is not None:
            query[SIMILAR_KEY] = {"$regex": pattern}
        return await self._tags.find(query, projection=NAME_FIELDS)

    async def page(
        self,
        ws: AuthorizedWorkspace,
        query: TagQuery,
        sort: Sort,
        *,
        after: Sequence[Any] | None,
        before: Sequence[Any] | None,
        limit: int,
        from_end: bool,
    ) -> list[Doc]:
        """Up to `limit` tags in `sort` order; from the end of the range when `from_end`."""
        mongo = query.mongo(ws)
        bounds = []
        if after is not None:
            bounds.append(keyset.after(sort, after))
        if before is not None:
            bounds.append(keyset.before(sort, before))
        if bounds:
            mongo = {"$and": [mongo, *bounds]}
        docs = await self._tags.find(
            mongo, sort=keyset.reverse(sort) if from_end else sort, limit=limit
        )
        if from_end:
            docs.reverse()
        return docs

    async def exists_beyond(
        self,
        ws: AuthorizedWorkspace,
        query: TagQuery,
        sort: Sort,
        values: Sequence[Any],
        *,
        forward: bool,
    ) -> bool:
        bound = keyset.after(sort, values) if forward else keyset.before(sort, values)
        # Sorted like the page itself, so it is the same shape (and index) as one.
        found = await self._tags.find(
            {"$and": [query.mongo(ws), bound]}, projection={"_id": 1}, sort=sort, limit=1
        )
        return bool(found)

    async def count(self, ws: AuthorizedWorkspace, query: TagQuery) -> int:
        return await self._tags.count(query.mongo(ws))

    async def count_workspace(self, ws: AuthorizedWorkspace) -> int:
        return await self._tags.count({"ws": ws.id})

    async def children_of(
        self, parents: Sequence[tuple[str, str]], visible: Visibility
    ) -> list[Doc]:
        """Children of (workspace, parent id) pairs, each parent's ordered by name.

        The workspace bounds the index scan even for a caller who sees every
        workspace. The order is made here, per parent: a sort on mongod after an
        `$in` of many parents would be a blocking sort.
        """
        docs = await self._tags.find(_children_filter(parents, visible))
        docs.sort(key=lambda d: (d["nameKey"], d["_id"]))
        return docs

    async def child_counts(
        self, parents: Sequence[tuple[str, str]], visible: Visibility
    ) -> dict[str, int]:
        rows = await self._tags.aggregate(
            [
                {"$match": _children_filter(parents, visible)},
                {"$group": {"_id": "$parentId", "n": {"$sum": 1}}},
            ]
        )
        return {row["_id"]: row["n"] for row in rows}

    async def usage_by_tag_id(self, ids: Sequence[str], visible: Visibility) -> dict[str, Doc]:
        """Each visible tag's usage counters (`usage`, `usageByType`), keyed by its id."""
        docs = await self.by_ids(ids, visible, projection={"usage": 1, "usageByType": 1})
        return {doc["_id"]: doc for doc in docs}

    async def slugs_like(self, ws: AuthorizedWorkspace, base: str) -> set[str]:
        pattern = "^" + re.escape(base) + r"(-[0-9]+)?$"
        docs = await self._tags.find(
            {"ws": ws.id, "slug": {"$regex": pattern}}, projection={"slug": 1, "_id": 0}
        )
        return {d["slug"] for d in docs}

    async def subtree_ids(self, ws: AuthorizedWorkspace, ids: Sequence[str]) -> list[str]:
        docs = await self._tags.find(
            {"ws": ws.id, "ancestors": {"$in": list(ids)}}, projection={"_id": 1}
        )
        return [d["_id"] for d in docs]

    async def deepest_below(self, ws: AuthorizedWorkspace, tag_id: str) -> int | None:
        # A $max over the subtree: the ancestors index has name order, not depth order.
        rows = await self._tags.aggregate(
            [
                {"$match": {"ws": ws.id, "ancestors": tag_id}},
                {"$group": {"_id": None, "depth": {"$max": "$depth"}}},
            ]
        )
        return int(rows[0]["depth"]) if rows else None

    # Writes ----------------------------------------------------------------

    async def insert(self, doc: Doc) -> None:
        try:
            await self._tags.insert_one(doc)
        except DuplicateKey as dup:
            raise conflict_from(dup) from None

    async def insert_many(self, docs: Sequence[Doc]) -> None:
        """Ordered insert; on a conflict nothing after it was written (see PartialInsert)."""
        await self._tags.insert_many(docs, ordered=True)

    async def delete_ids(self, ws: AuthorizedWorkspace, ids: Sequence[str]) -> int:
        return await self._tags.delete_many({"ws": ws.id, "_id": {"$in": list(ids)}})

    async def update(
        self,
        ws: AuthorizedWorkspace,
        tag_id: str,
        changes: Mapping[str, Any],
        expected: Mapping[str, Any] | None = None,
    ) -> Doc | None:
        """The tag after `changes`; None when it is gone, or when `expected` (the
        values a decision was made from, e.g. its place in the tree) no longer holds."""
        try:
            return await self._tags.find_one_and_update(
                {"ws": ws.id, "_id": tag_id, **LIVE, **(expected or {})},
                {"$set": dict(changes)},
            )
        except DuplicateKey as dup:
            raise conflict_from(dup) from None

    async def move_subtree(
        self, ws: AuthorizedWorkspace, tag_id: str, new_prefix: Sequence[str]
    ) -> None:
        """Rewrite the paths of every descendant of `tag_id` after it moved below `new_prefix`.

        Each descendant's path becomes `new_prefix` followed by its path from
        `tag_id` on, in one update per document computed from the document
        itself: running it again changes nothing, so a fix-up may simply repeat it.
        """
        from_tag = {"$indexOfArray": ["$ancestors", tag_id]}
        await self._tags.update_many(
            {"ws": ws.id, "ancestors": tag_id},
            [
                {
                    "$set": {
                        "ancestors": {
                            "$concatArrays": [
                                {"$literal": list(new_prefix)},
                                {"$slice": ["$ancestors", from_tag, {"$size": "$ancestors"}]},
                            ]
                        }
                    }
                },
                {"$set": {"depth": {"$size": "$ancestors"}}},
            ],
        )

    async def mark_deleting(
        self, ws: AuthorizedWorkspace, ids: Sequence[str], *, merge_into: str | None = None
    ) -> int:
        """Flag tags on their way out; `merge_into` records where their taggings go."""
        flag: dict[str, Any] = {"mergeInto": merge_into} if merge_into else {}
        return await self._tags.update_many(
            {"ws": ws.id, "_id": {"$in": list(ids)}}, {"$set": {"deleting": flag or True}}
        )

    async def slugs_taken(self, ws: AuthorizedWorkspace, slugs: Iterable[str]) -> set[str]:
        docs = await self._tags.find(
            {"ws": ws.id, "slug": {"$in": list(slugs)}}, projection={"slug": 1, "_id": 0}
        )
        return {d["slug"] for d in docs}

    async def set_place(self, tag_id: str, parent_id: str | None, ancestors: list[str]) -> None:
        await self._tags.update_one(
            {"_id": tag_id},
            {"$set": {"parentId": parent_id, "ancestors": ancestors, "depth": len(ancestors)}},
        )

    async def lift_children_many(
        self, ws: AuthorizedWorkspace, tags: Sequence[Mapping[str, Any]]
    ) -> None:
        """`lift_children` of each tag in turn, as one ordered bulk (one call)."""
        ops: list[BulkOp] = []
        for tag in tags:
            ops += [
                (
                    "update_many",
                    {"ws": ws.id, "parentId": tag["_id"]},
                    {"$set": {"parentId": tag.get("parentId")}},
                ),
                (
                    "update_many",
                    {"ws": ws.id, "ancestors": tag["_id"]},
                    {"$pull": {"ancestors": tag["_id"]}, "$inc": {"depth": -1}},
                ),
            ]
        await self._tags.bulk_write(ops, ordered=True)

    async def lift_children(self, ws: AuthorizedWorkspace, tag: Mapping[str, Any]) -> None:
        """Children of a removed tag move up to its parent; every descendant loses one level."""
        await self._tags.update_many(
            {"ws": ws.id, "parentId": tag["_id"]}, {"$set": {"parentId": tag.get("parentId")}}
        )
        await self._tags.update_many(
            {"ws": ws.id, "ancestors": tag["_id"]},
            {"$pull": {"ancestors": tag["_id"]}, "$inc": {"depth": -1}},
        )

    async def add_usage_many(self, deltas: Mapping[str, Mapping[str, int]]) -> None:
        """Move the usage counters of many tags in one call: one `$inc` per tag."""
        ops: list[BulkOp] = []
        for tag_id, by_type in deltas.items():
            inc = {f"usageByType.{type_key(t)}": n for t, n in by_type.items() if n}
            if inc:
                inc["usage"] = sum(by_type.values())
                ops.append(("update_one", {"_id": tag_id}, {"$inc": inc}))
        await self._tags.bulk_write(ops, ordered=True)

    async def set_places(self, places: Mapping[str, tuple[str | None, list[str]]]) -> None:
        """`set_place` for many tags, in calls of at most 1000 statements."""
        ops: list[BulkOp] = [
            (
                "update_one",
                {"_id": tag_id},
                {"$set": {"parentId": parent, "ancestors": ancestors, "depth": len(ancestors)}},
            )
            for tag_id, (parent, ancestors) in places.items()
        ]
        for start in range(0, len(ops), 1000):
            await self._tags.bulk_write(ops[start : start + 1000], ordered=True)

    async def add_usage(self, tag_id: str, by_type: Mapping[str, int]) -> None:
        inc = {f"usageByType.{type_key(t)}": n for t, n in by_type.items() if n}
        total = sum(by_type.values())
        if not total and not inc:
            return
        inc["usage"] = total
        await self._tags.update_one({"_id": tag_id}, {"$inc": inc})

    # Repair ----------------------------------------------------------------

    async def flagged(self, ids: Sequence[str] | None = None) -> list[Doc]:
        query: dict[str, Any] = {**FLAGGED}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        return await self._tags.find(query)

    async def by_id_list(
        self, ids: Sequence[str], projection: Mapping[str, Any] | None = None
    ) -> list[Doc]:
        return await self._tags.find(
            {"_id": {"$in": list(ids)}}, projection=projection or {"_id": 1}
        )

    async def reparent_children(
        self, ws: AuthorizedWorkspace, tag_id: str, parent_id: str | None
    ) -> None:
        """Point the children of `tag_id` at `parent_id`; their paths are fixed afterwards."""
        await self._tags.update_many(
            {"ws": ws.id, "parentId": tag_id}, {"$set": {"parentId": parent_id}}
        )

    async def all_docs(
        self,
        projection: Mapping[str, Any] | None = None,
        workspace: str | None = None,
        *,
        live_only: bool = True,
    ) -> list[Doc]:
        query: dict[str, Any] = {**LIVE} if live_only else {}
        if workspace is not None:
            query["ws"] = workspace
        return await self._tags.find(query, projection=projection)

    async def set_fields(self, tag_id: str, fields: Mapping[str, Any]) -> None:
        await self._tags.update_one({"_id": tag_id}, {"$set": dict(fields)})


def _children_filter(parents: Sequence[tuple[str, str]], visible: Visibility) -> dict[str, Any]:
    """Children live in their parent's workspace: (ws, parentId) prefixes the index scan."""
    workspaces = sorted({ws for ws, _ in parents if visible.sees(ws)})
    ids = sorted({parent for ws, parent in parents if visible.sees(ws)})
    return {
        "ws": workspaces[0] if len(workspaces) == 1 else {"$in": workspaces},
        "parentId": {"$in": ids},
    }
