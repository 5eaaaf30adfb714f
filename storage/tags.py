"""Tag documents.

One document per tag:

    _id          "tag_" + 24 hex digits
    ws           workspace id
    name         display name;  nameKey: casefolded (unique per ws)
    searchKey    accent- and case-folded name, for substring search
    aliases      other names, in the order given (contract 1.1)
    nameKeys     [nameKey, casefolded aliases...]: names and aliases unique
                 together per ws (a multikey unique index)
    searchKeys   [searchKey, folded aliases...], aligned with nameKeys
    similarKeys  per search key, its characters counted by group and its
                 letters and digits alone (`similar_keys`): what similarTags'
                 prefilter looks up
    slug         unique per ws
    color, description, category, categoryKey, metadata, createdBy
    parentId     null for a root; the source of truth of the tree
    ancestors    ids root first, ending with the parent (derived from parentId)
    depth        len(ancestors)
    usage        total taggings;  usageByType: {type with "." as "%": count}
    createdAt, updatedAt
    deleting     present while a delete or merge removes the tag; its `change`
                 is what the history records of it (storage/history.py)
    changesPending  (1.2) history entries written with the change, until they
                 are copied to the history (storage/history.py)
    archived     (1.2) true while the tag is archived; absent otherwise
    archivedAt   (1.2) when it was archived; absent otherwise
    archiveOps   (1.2) ids of the last archive/restore calls that changed it

`ancestors` and `depth` are derived data kept beside `parentId` so that
ancestors, subtree queries and cycle checks need no recursive walk; the repair
routine can always recompute them from `parentId`.

`nameKeys`/`searchKeys` are derived from `name` and `aliases` and written in
the same update as they are, and `similarKeys` from `searchKeys`. Tags stored
before aliases existed lack them: `build_missing_name_keys` builds them (at
start-up, before the index is made, and in repair); tags stored before
`similarKeys` existed get theirs from `build_missing_similar_keys`. A merge's
sources give theirs up (`release_names`) before the target adopts them
(`adopt_names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage import keyset
from storage.access import AuthorizedWorkspace, Visibility
from storage.collection import BulkOp, Collection, Doc, Sort
from storage.errors import DuplicateKey, PartialInsert
from storage.history import PENDING
from storage.query_shapes import (
    BY_ID,
    CHILDREN_ORDER,
    DEPTH_ORDER,
    RETIRED_INDEXES,
    TAGS,
    indexes_of,
)
from storage.query_shapes import ORDERS as ORDERS
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


# (1.2) An archived tag carries `archived: true` and `archivedAt`; restoring it
# removes both. Present only while archived, so tags stored before 1.2 (or made
# by any code that knows nothing of archiving) are simply not archived, and
# "not archived" is `archived: null`, an equality an index serves.
ARCHIVED = "archived"
ARCHIVED_AT = "archivedAt"
# The ids of the last archive / restore calls that changed the tag (TagStore.set_archived).
ARCHIVE_OPS = "archiveOps"
ARCHIVE_OPS_KEPT = 8


def is_archived(doc: Mapping[str, Any]) -> bool:
    return bool(doc.get(ARCHIVED))


# The names a tag answers to ---------------------------------------------------
# Look-ups by name (tagByName, tagNames), the search filter, relevance order and
# similarTags treat an alias like the name and list a tag once: they read these
# fields. `NAME_FIELDS` is what a ranking reads, `SIMILAR_KEYS` what a
# similarity prefilter looks up (any element of the array matches), `names_of` the
# (name key, search key) pairs themselves.
NAME_KEYS = "nameKeys"
SEARCH_KEYS = "searchKeys"
NAME_FIELDS: Mapping[str, int] = {
    "_id": 1,
    "ws": 1,
    "name": 1,
    "nameKey": 1,
    "searchKey": 1,
    NAME_KEYS: 1,
    SEARCH_KEYS: 1,
    "usage": 1,
}
SIMILAR_KEYS = "similarKeys"
# What similarTags scores a candidate by: thousands come back, so no more.
SIMILAR_FIELDS: Mapping[str, int] = {
    "_id": 1,
    "nameKey": 1,
    "searchKey": 1,
    NAME_KEYS: 1,
    SEARCH_KEYS: 1,
    SIMILAR_KEYS: 1,
    "usage": 1,
}


def compact_key(key: str) -> str:
    """A folded name without spaces and punctuation: only its letters and digits."""
    return "".join(c for c in key if c.isalnum())


# similarKeys spread a key's characters over this many groups (by code point).
# Stored data depends on it: changing it means rebuilding every tag's keys.
SIMILAR_GROUPS = 5


def _group_counts(key: str) -> list[int]:
    counts = [0] * SIMILAR_GROUPS
    for c in key:
        counts[ord(c) % SIMILAR_GROUPS] += 1
    return counts


def _counts_entry(counts: Sequence[int]) -> str:
    # "#" is never a letter or digit: no compact form looks like one of these.
    return "#" + ".".join(map(str, counts))


def similar_keys(search_keys: Iterable[str]) -> list[str]:
    """What similarTags' prefilter looks up for these search keys: for each one,
    how many of its characters fall in each of `SIMILAR_GROUPS` groups (a
    "#"-entry), and its compact form (none when it has no letters or digits).

    Both kinds share one multikey array and one index, so the prefilter is a
    single `$in` (`similar_lookup`): point intervals on every planner, where a
    regex is tested (and, on some servers, compiled) once per key of the workspace.
    """
    found: dict[str, None] = {}
    for key in search_keys:
        found[_counts_entry(_group_counts(key))] = None
        letters = compact_key(key)
        if letters:
            found[letters] = None
    return list(found)


def similar_lookup(key: str, edits: int) -> list[str]:
    """The similarKeys of every key within `edits` edits of `key`, and its compact form.

    An insertion or a deletion moves one group's count by one, a substitution
    moves one character to another group (two counts by one), a swap of
    neighbours changes nothing. So after i insertions and deletions and s
    substitutions, i + s <= edits, the counts are apart by at most i + 2s in
    all, which is at most 2 * edits - |change of length|. Every such vector is
    listed (a few hundred at most for 2 edits).
    """
    base = _group_counts(key)
    budget = 2 * edits
    found: list[str] = []

    def walk(i: int, counts: list[int], spent: int, grown: int) -> None:
        if i == SIMILAR_GROUPS:
            if abs(grown) <= edits and spent <= budget - abs(grown):
                found.append(_counts_entry(counts))
            return
        room = budget - spent
        for step in range(-min(room, base[i]), room + 1):
            counts.append(base[i] + step)
            walk(i + 1, counts, spent + abs(step), grown + step)
            counts.pop()

    walk(0, [], 0, 0)
    letters = compact_key(key)
    return [*found, letters] if letters else found


def names_of(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name key, search key) of every name the tag answers to, its own name first."""
    keys = doc.get(NAME_KEYS)
    if keys is None:
        # Stored before aliases existed (or on its way out of a merge).
        return [(doc["nameKey"], doc["searchKey"])]
    return list(zip(keys, doc[SEARCH_KEYS], strict=True))


def name_keys_of(doc: Mapping[str, Any]) -> list[str]:
    """Every name key the tag holds: its name's and its aliases'."""
    return [key for key, _ in names_of(doc)]


@dataclass(frozen=True, slots=True)
class TagUpdate:
    """One tag's change in `TagStore.update_each`: the fields to set and to remove,
    applied only while the tag has the `expected` values."""

    tag_id: str
    set: Mapping[str, Any]
    unset: Sequence[str] = ()
    expected: Mapping[str, Any] = field(default_factory=dict)
    # (1.2) The change's history entry, written with it; or the id of one taken off.
    pending: Doc | None = None
    unpending: str | None = None


class Conflict(Exception):
    """A unique name or slug is taken in the workspace."""

    def __init__(self, field: str, index: int | None = None) -> None:
        super().__init__(f"{field} taken")
        self.field = field
        self.index = index


def conflict_from(dup: DuplicateKey) -> Conflict:
    field = "slug" if "slug" in dup.fields else "name"
    return Conflict(field, dup.index)


# Tags given their similarKeys per command when they were stored without them.
SIMILAR_KEYS_BATCH = 1000

# A merge's adoption of names re-reads its target when it changed meanwhile.
MAX_ADOPT_ATTEMPTS = 8

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
    # (1.2) False: tags that are not archived (the default); True: archived ones; None: both.
    archived: bool | None = False

    @property
    def matches_nothing(self) -> bool:
        return self.ids == ()

    def mongo(self, ws: AuthorizedWorkspace) -> dict[str, Any]:
        query: dict[str, Any] = {"ws": ws.id}
        if self.search_pattern:
            # A regex on an array matches when any element does: the name or an
            # alias, and the tag comes back once however many match.
            if len(self.search_pattern) <= REGEX_MAX or not self.search_key:
                query[SEARCH_KEYS] = {"$regex": self.search_pattern}
            else:
                # The same substring test: a position of 0 or more is "found".
                found = {"$gte": [{"$indexOfCP": ["$$key", self.search_key]}, 0]}
                query["$expr"] = {
                    "$anyElementTrue": [
                        {"$map": {"input": f"${SEARCH_KEYS}", "as": "key", "in": found}}
                    ]
                }
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
        if self.archived is not None:
            # Equality either way (null matches the field's absence), so the
            # archived index serves both with the NAME order; other filters and
            # orders check it on the tags their own index fetches.
            query[ARCHIVED] = True if self.archived else None
        return query


class TagStore:
    def __init__(self, tags: Collection) -> None:
        self._tags = tags

    async def ensure_indexes(self) -> None:
        # Keys first: a tag stored before aliases existed is then in the names
        # index at once, so no name can be taken as another tag's alias meanwhile.
        await self.build_missing_name_keys()
        await self.build_missing_similar_keys()
        for index in indexes_of(TAGS):
            await self._tags.ensure_index(index)
        for name in RETIRED_INDEXES.get(TAGS, ()):
            await self._tags.drop_index_if_exists(name)

    # Reads -----------------------------------------------------------------

    async def by_ids(
        self, ids: Iterable[str], visible: Visibility, projection: Mapping[str, Any] | None = None
    ) -> list[Doc]:
        query = visible.restrict({"_id": {"$in": list(ids)}})
        return await self._tags.find(query, projection=projection, sort=BY_ID)

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
            return await self._tags.find({"ws": ws.id, "_id": {"$in": ids}}, sort=BY_ID)
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
        """Tags whose name or an alias has one of these name keys."""
        return await self._tags.find({"ws": ws.id, NAME_KEYS: {"$in": list(keys)}})

    async def by_name_key(self, ws: AuthorizedWorkspace, key: str) -> Doc | None:
        """The tag whose name or an alias has this name key (at most one: the index)."""
        return await self._tags.find_one({"ws": ws.id, NAME_KEYS: key})

    async def ranking_candidates(self, ws: AuthorizedWorkspace, query: TagQuery) -> list[Doc]:
        """Every tag the filter matches, with only what ranking reads (`NAME_FIELDS`).

        A rank that depends on the search cannot be kept in an index: the
        matches are ranked by the service, which then loads only one page of
        full documents.
        """
        return await self._tags.find(query.mongo(ws), projection=NAME_FIELDS)

    async def similar_candidates(self, ws: AuthorizedWorkspace, keys: Sequence[str]) -> list[Doc]:
        """Tags with a name or alias that has one of these similarKeys (`similar_lookup`)."""
        return await self._tags.find(
            {"ws": ws.id, SIMILAR_KEYS: {"$in": list(keys)}}, projection=SIMILAR_FIELDS
        )

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

    async def in_depth_order(self, ws: AuthorizedWorkspace, *, live_only: bool) -> list[Doc]:
        """(1.2) Every tag of the workspace, roots first, each level by name, in one read:
        what exportTags writes (`live_only`) and what importTags decides from (all of
        them: a flagged tag still holds its names and slug)."""
        query: dict[str, Any] = {"ws": ws.id, **LIVE} if live_only else {"ws": ws.id}
        return await self._tags.find(query, sort=DEPTH_ORDER)

    async def count(self, ws: AuthorizedWorkspace, query: TagQuery) -> int:
        return await self._tags.count(query.mongo(ws))

    async def count_workspace(self, ws: AuthorizedWorkspace) -> int:
        return await self._tags.count({"ws": ws.id})

    async def children_of(
        self, parents: Sequence[tuple[str, str]], visible: Visibility
    ) -> list[Doc]:
        """Children of (workspace, parent id) pairs, by parent, each parent's by name.

        The workspace bounds the index scan even for a caller who sees every
        workspace. The order is the index's: mongod reads the parents' intervals
        one after the other.
        """
        return await self._tags.find(_children_filter(parents, visible), sort=CHILDREN_ORDER)

    async def child_counts(
        self, parents: Sequence[tuple[str, str]], visible: Visibility
    ) -> dict[str, int]:
        rows = await self._tags.aggregate(
            [
                {"$match": _children_filter(parents, visible)},
                {"$sort": dict(CHILDREN_ORDER)},
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

    async def subtree(self, ws: AuthorizedWorkspace, ids: Sequence[str]) -> list[Doc]:
        """Every tag below these tags, whole documents."""
        return await self._tags.find({"ws": ws.id, "ancestors": {"$in": list(ids)}})

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
        _not_archived_is_absent(doc)
        try:
            await self._tags.insert_one(doc)
        except DuplicateKey as dup:
            raise conflict_from(dup) from None

    async def insert_many(self, docs: Sequence[Doc]) -> None:
        """Ordered insert; on a conflict nothing after it was written (see PartialInsert)."""
        for doc in docs:
            _not_archived_is_absent(doc)
        await self._tags.insert_many(docs, ordered=True)

    async def update_each(self, ws: AuthorizedWorkspace, updates: Sequence[TagUpdate]) -> None:
        """(1.2) Many tags' own changes in one ordered call, each only while its tag still
        matches `expected`; a name or slug another tag holds is `Conflict` (the
        statements before it were applied, the ones after it not)."""
        ops: list[BulkOp] = []
        for update in updates:
            change: dict[str, Any] = {}
            if update.set:
                change["$set"] = dict(update.set)
            if update.unset:
                change["$unset"] = {f: "" for f in update.unset}
            if update.pending is not None:
                change["$push"] = {PENDING: update.pending}
            if update.unpending is not None:
                change["$pull"] = {PENDING: {"_id": update.unpending}}
            if change:
                query = {"_id": update.tag_id, "ws": ws.id, **update.expected}
                ops.append(("update_one", query, change))
        try:
            await self._tags.bulk_write(ops, ordered=True)
        except PartialInsert as refused:
            dup = refused.duplicates[0] if refused.duplicates else DuplicateKey(())
            raise conflict_from(dup) from None

    async def delete_ids(self, ws: AuthorizedWorkspace, ids: Sequence[str]) -> int:
        return await self._tags.delete_many({"ws": ws.id, "_id": {"$in": list(ids)}})

    async def update(
        self,
        ws: AuthorizedWorkspace,
        tag_id: str,
        changes: Mapping[str, Any],
        expected: Mapping[str, Any] | None = None,
        *,
        pending: Doc | None = None,
    ) -> Doc | None:
        """The tag after `changes`; None when it is gone, or when `expected` (the
        values a decision was made from, e.g. its place in the tree) no longer holds.
        `pending`: the change's history entry, written in the same statement."""
        update: dict[str, Any] = {"$set": dict(changes)}
        if pending is not None:
            update["$push"] = {PENDING: pending}
        try:
            return await self._tags.find_one_and_update(
                {"ws": ws.id, "_id": tag_id, **LIVE, **(expected or {})}, update
            )
        except DuplicateKey as dup:
            raise conflict_from(dup) from None

    async def set_archived(
        self,
        ws: AuthorizedWorkspace,
        ids: Sequence[str],
        archived: bool,
        at: Any,
        op: str,
        *,
        pending: Doc | None = None,
    ) -> int:
        """Archive (or restore) the live tags of `ids` that are not (or are) archived yet;
        how many changed. One statement: at most `MAX_ARCHIVE_IDS` ids, each
        document changed atomically, and repeating it changes nothing more.

        Only a tag in the other state matches, so each change of state is made by
        exactly one call: `op`, the caller's own id, joins the tag's `archiveOps`
        (the last few such ids), which is how a caller tells its changes from a
        concurrent one's when it reads the tags back. `pending`: the change's
        history stub, written in the same statement (storage/history.py).
        """
        query: dict[str, Any] = {"ws": ws.id, "_id": {"$in": list(ids)}, **LIVE}
        ops = {ARCHIVE_OPS: {"$each": [op], "$slice": -ARCHIVE_OPS_KEPT}}
        if archived:
            query[ARCHIVED] = None
            change: dict[str, Any] = {
                "$set": {ARCHIVED: True, ARCHIVED_AT: at, "updatedAt": at},
                "$push": ops,
            }
        else:
            query[ARCHIVED] = True
            change = {
                "$unset": {ARCHIVED: "", ARCHIVED_AT: ""},
                "$set": {"updatedAt": at},
                "$push": ops,
            }
        if pending is not None:
            change["$push"] = {**change["$push"], PENDING: pending}
        return await self._tags.update_many(query, change)

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
        self,
        ws: AuthorizedWorkspace,
        ids: Sequence[str],
        *,
        merge_into: str | None = None,
        adopt: Sequence[Sequence[str]] = (),
        change: Mapping[str, Any] | None = None,
    ) -> int:
        """Flag tags on their way out; `merge_into` records where their taggings go,
        `adopt` the (alias, name key, search key) entries the target takes from the
        sources as aliases (every source's flag carries them all), `change` what
        the history records (storage.history.flagged_entries)."""
        flag: dict[str, Any] = {"mergeInto": merge_into} if merge_into else {}
        if adopt:
            flag["adopt"] = [list(a) for a in adopt]
        if change is not None:
            flag["change"] = dict(change)
        return await self._tags.update_many(
            {"ws": ws.id, "_id": {"$in": list(ids)}}, {"$set": {"deleting": flag or True}}
        )

    async def release_names(self, ws: AuthorizedWorkspace, ids: Sequence[str]) -> None:
        """Merge sources (already flagged) give up their names and aliases: the
        partial names index no longer holds them, so the target can adopt them."""
        await self._tags.update_many(
            {"ws": ws.id, "_id": {"$in": list(ids)}}, {"$unset": {NAME_KEYS: ""}}
        )

    async def adopt_names(
        self,
        ws: AuthorizedWorkspace,
        target_id: str,
        names: Sequence[Sequence[str]],
        *,
        limit: int,
        at: Any,
    ) -> Doc | None:
        """Append (alias, name key, search key) entries to a live tag's aliases.

        Idempotent: entries whose key the tag already holds are skipped, and the
        append happens only while none of the appended keys is there, so a
        repeated or concurrent adoption cannot add one twice. At most `limit`
        aliases are kept. An entry whose key another tag has taken meanwhile
        (after the sources released it) is left out. None: the tag is gone.
        """
        pending = [tuple(n) for n in names]
        for _attempt in range(MAX_ADOPT_ATTEMPTS):
            found = await self.live_in_workspace(ws, [target_id])
            if not found:
                return None
            target = found[0]
            held = set(name_keys_of(target))
            room = limit - len(target.get("aliases") or [])
            fresh: list[tuple[str, ...]] = []
            for entry in pending:
                if entry[1] not in held and len(fresh) < room:
                    held.add(entry[1])
                    fresh.append(entry)
            if not fresh:
                return target
            keys = [e[1] for e in fresh]
            appended = {
                "aliases": [e[0] for e in fresh],
                NAME_KEYS: keys,
                SEARCH_KEYS: [e[2] for e in fresh],
            }
            if NAME_KEYS in target:
                # Appended where the tag is now, so a concurrent change of its other
                # aliases is kept and the three lists stay aligned.
                change: dict[str, Any] = {
                    "$push": {f: {"$each": v} for f, v in appended.items()},
                    "$addToSet": {SIMILAR_KEYS: {"$each": similar_keys(appended[SEARCH_KEYS])}},
                    "$set": {"updatedAt": at},
                }
            else:
                now_names = names_of(target)
                search_keys = [k for _, k in now_names] + appended[SEARCH_KEYS]
                change = {
                    "$set": {
                        "aliases": [*(target.get("aliases") or []), *appended["aliases"]],
                        NAME_KEYS: [k for k, _ in now_names] + keys,
                        SEARCH_KEYS: search_keys,
                        SIMILAR_KEYS: similar_keys(search_keys),
                        "updatedAt": at,
                    }
                }
            try:
                updated = await self._tags.find_one_and_update(
                    {"ws": ws.id, "_id": target_id, **LIVE, NAME_KEYS: {"$nin": keys}}, change
                )
            except DuplicateKey:
                taken = {
                    k
                    for doc in await self.by_name_keys(ws, keys)
                    if doc["_id"] != target_id
                    for k in name_keys_of(doc)
                }
                pending = [e for e in pending if e[1] not in taken]
                continue
            if updated is not None:
                return updated
            # One of the keys arrived meanwhile (or the tag went): read it again.
        found = await self.live_in_workspace(ws, [target_id])
        return found[0] if found else None

    async def build_missing_name_keys(self) -> int:
        """Give tags stored before aliases existed their name keys; how many changed.

        One update over the whole collection, which finds nothing to do once
        every tag has its keys. Tags on their way out are left alone: a merge's
        sources have given theirs up on purpose.
        """
        return await self._tags.update_many(
            {NAME_KEYS: {"$exists": False}, **LIVE},
            [
                {
                    "$set": {
                        NAME_KEYS: ["$nameKey"],
                        SEARCH_KEYS: ["$searchKey"],
                        "aliases": {"$ifNull": ["$aliases", []]},
                    }
                }
            ],
        )

    async def build_missing_similar_keys(self) -> int:
        """Give tags stored before `similarKeys` existed theirs; how many changed.

        Read and written a batch at a time in `_id` order, so memory stays
        bounded; each write applies only while the tag still has the search
        keys it was computed from (a rename meanwhile wrote its own).
        """
        changed = 0
        after = ""
        while True:
            docs = await self._tags.find(
                {SIMILAR_KEYS: {"$exists": False}, "_id": {"$gt": after}},
                projection={"_id": 1, "searchKey": 1, SEARCH_KEYS: 1},
                sort=[("_id", 1)],
                limit=SIMILAR_KEYS_BATCH,
            )
            if not docs:
                return changed
            ops: list[BulkOp] = []
            for doc in docs:
                keys = doc.get(SEARCH_KEYS)
                if keys is None:
                    keys = [doc["searchKey"]] if "searchKey" in doc else []
                ops.append(
                    (
                        "update_one",
                        {"_id": doc["_id"], SEARCH_KEYS: doc.get(SEARCH_KEYS)},
                        {"$set": {SIMILAR_KEYS: similar_keys(keys)}},
                    )
                )
            modified, _ = await self._tags.bulk_write(ops, ordered=False)
            changed += modified
            after = docs[-1]["_id"]

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
        return await self._tags.find(query, sort=BY_ID if ids is not None else None)

    async def by_id_list(
        self, ids: Sequence[str], projection: Mapping[str, Any] | None = None
    ) -> list[Doc]:
        return await self._tags.find(
            {"_id": {"$in": list(ids)}}, projection=projection or {"_id": 1}, sort=BY_ID
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


def _not_archived_is_absent(doc: Doc) -> None:
    """A new tag that is not archived has no `archived` field at all: `tags` lists
    the tags whose field is absent (`archived: null`), and `false` would not match."""
    if not doc.get(ARCHIVED):
        doc.pop(ARCHIVED, None)
        doc.pop(ARCHIVED_AT, None)


def _children_filter(parents: Sequence[tuple[str, str]], visible: Visibility) -> dict[str, Any]:
    """Children live in their parent's workspace: (ws, parentId) prefixes the index scan."""
    workspaces = sorted({ws for ws, _ in parents if visible.sees(ws)})
    ids = sorted({parent for ws, parent in parents if visible.sees(ws)})
    return {
        "ws": workspaces[0] if len(workspaces) == 1 else {"$in": workspaces},
        "parentId": {"$in": ids},
    }
