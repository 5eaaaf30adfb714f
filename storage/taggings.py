"""Taggings: one document per (resource, tag) association.

    ws, rk, rtype, rid, tagId, at
    slot   (1.1) the exclusive parent of tagId when it was added; absent otherwise

`rk` is the resource key "type\\x1fid": one field to match resources with `$in`.
Resource ids contain no control characters and types never contain \\x1f, so
ordering by `rk` is ordering by (type, id). A unique index on (ws, rk, tagId)
is what makes a pair exist at most once, however many requests race.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from config.limits import MAX_COUNTED_RESOURCES
from storage import keyset, query_shapes
from storage.access import AuthorizedWorkspace, Visibility
from storage.collection import BulkOp, Collection, Doc, Sort
from storage.errors import PartialInsert
from storage.query_shapes import BY_RESOURCE, BY_TAG

SEPARATOR = "\x1f"

# Documents one store call writes or deletes at most. A bulk request (500
# resources x 100 tags) is 50 such calls, each well inside the store timeout, and
# the event loop runs other requests between them.
CHUNK = 1000
# Resources one read of a mutation covers: at up to 100 tags each, at most 5000
# associations, which a slow store still reads well inside its timeout.
RESOURCES_PER_READ = 50
# Ids in one `_id: {$in}` statement: a server checks each candidate against the
# whole list, so long lists cost the square of their length.
IDS_PER_STATEMENT = 100

# The sorts live with the indexes that serve them (see storage.query_shapes).
BY_TAG_SORT: Sort = query_shapes.BY_TAG_SORT
RESOURCES_SORT: Sort = query_shapes.RESOURCES_SORT


def resource_key(rtype: str, rid: str) -> str:
    return f"{rtype}{SEPARATOR}{rid}"


def split_key(rk: str) -> tuple[str, str]:
    rtype, _, rid = rk.partition(SEPARATOR)
    return rtype, rid


def _type_filter(rtype: str | None) -> dict[str, Any]:
    return {} if rtype is None else {"rtype": rtype}


class TaggingStore:
    def __init__(self, taggings: Collection) -> None:
        self._t = taggings

    async def ensure_indexes(self) -> None:
        for index in query_shapes.indexes_of(query_shapes.TAGGINGS):
            await self._t.ensure_index(index)

    async def insert(self, docs: Sequence[Doc]) -> list[int]:
        """Insert new associations in chunks; returns the indexes actually written
        (duplicates skipped). A failure leaves earlier chunks written: every
        document sent carries its `_id` (see `remove_written`)."""
        written: list[int] = []
        for start in range(0, len(docs), CHUNK):
            if start:
                await asyncio.sleep(0)
            chunk = docs[start : start + CHUNK]
            try:
                await self._t.insert_many(chunk, ordered=False)
            except PartialInsert as partial:
                written += [start + i for i in partial.inserted]
            else:
                written += range(start, start + len(chunk))
        return written

    async def of_resources(
        self,
        ws_ids: Iterable[str],
        rks: Iterable[str],
        visible: Visibility,
        *,
        per_call: int = 0,
    ) -> list[Doc]:
        """The associations of these resources; `per_call` resources a call when given
        (a mutation's reads: up to 100 associations each, so a call stays bounded)."""
        wanted = sorted({w for w in ws_ids if visible.sees(w)})
        # One workspace by plain equality: a planner that serves an equality prefix
        # and one `$in` (SecantusDB's) would otherwise scan the whole collection.
        ws: Any = wanted[0] if len(wanted) == 1 else {"$in": wanted}
        keys = list(rks)
        step = per_call or max(len(keys), 1)
        rows: list[Doc] = []
        for start in range(0, len(keys), step):
            if start:
                await asyncio.sleep(0)
            rows += await self._t.find(
                {"ws": ws, "rk": {"$in": keys[start : start + step]}},
                projection={"_id": 0, "ws": 1, "rk": 1, "tagId": 1, "at": 1},
                sort=BY_RESOURCE,
            )
        return rows

    async def of_tags(self, ws: AuthorizedWorkspace, tag_ids: Sequence[str]) -> list[Doc]:
        return await self._t.find(
            {"ws": ws.id, "tagId": {"$in": list(tag_ids)}},
            projection={"_id": 0, "rk": 1, "tagId": 1, "at": 1},
            sort=BY_TAG,
        )

    async def of_tags_in(self, keys: Iterable[tuple[str, str]], visible: Visibility) -> list[Doc]:
        """Every association of these (workspace, tag id) pairs, one call per workspace."""
        by_ws: dict[str, set[str]] = {}
        for ws_id, tag_id in keys:
            if visible.sees(ws_id):
                by_ws.setdefault(ws_id, set()).add(tag_id)
        rows: list[Doc] = []
        for ws_id, tag_ids in sorted(by_ws.items()):
            rows += await self._t.find(
                {"ws": ws_id, "tagId": {"$in": sorted(tag_ids)}},
                projection={"_id": 0, "ws": 1, "tagId": 1, "rk": 1, "rtype": 1, "at": 1},
                sort=BY_TAG,
            )
        return rows

    async def remove_pairs(
        self, ws: AuthorizedWorkspace, tags_of: Mapping[str, Sequence[str]]
    ) -> int:
        """Delete the associations of each resource key with the tags given for it;
        returns how many were deleted.

        One statement per resource (the unique index's prefix, then `$in` on its
        last field), about CHUNK associations per call.
        """
        deleted = 0
        for calls, (ops, _) in enumerate(
            _chunked(
                (
                    ("delete_many", {"ws": ws.id, "rk": rk, "tagId": {"$in": list(tags)}}, None),
                    len(tags),
                )
                for rk, tags in tags_of.items()
                if tags
            )
        ):
            if calls:
                await asyncio.sleep(0)
            deleted += (await self._t.bulk_write(ops, ordered=False))[1]
        return deleted

    async def remove_written(self, docs: Sequence[Doc]) -> int:
        """Take back documents this process inserted (they carry their `_id`)."""
        ids = [d["_id"] for d in docs]
        removed = 0
        for start in range(0, len(ids), CHUNK):
            if start:
                await asyncio.sleep(0)
            ops: list[BulkOp] = [
                ("delete_many", {"_id": {"$in": ids[i : i + IDS_PER_STATEMENT]}}, None)
                for i in range(start, min(start + CHUNK, len(ids)), IDS_PER_STATEMENT)
            ]
            removed += (await self._t.bulk_write(ops, ordered=False))[1]
        return removed

    async def remove_tags(
        self,
        ws: AuthorizedWorkspace,
        tag_ids: Sequence[str],
        usage: Mapping[str, int] | None = None,
    ) -> int:
        """Delete every association of these tags; returns how many were deleted.

        One statement per tag (the by-tag index's prefix), grouped by the tags'
        usage counters into calls of about CHUNK associations, so no call
        outlasts the store timeout; a tag of unknown usage goes alone.
        """
        deleted = 0
        statements = (
            (
                ("delete_many", {"ws": ws.id, "tagId": tag_id}, None),
                (usage or {}).get(tag_id, CHUNK),
            )
            for tag_id in tag_ids
        )
        for calls, (ops, _) in enumerate(_chunked(statements)):
            if calls:
                await asyncio.sleep(0)
            deleted += (await self._t.bulk_write(ops, ordered=False))[1]
        return deleted

    async def counts_per_resource(
        self, ws: AuthorizedWorkspace, rks: Sequence[str]
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for start in range(0, len(rks), RESOURCES_PER_READ):
            if start:
                await asyncio.sleep(0)
            rows = await self._t.aggregate(
                [
                    {
                        "$match": {
                            "ws": ws.id,
                            "rk": {"$in": list(rks[start : start + RESOURCES_PER_READ])},
                        }
                    },
                    {"$sort": dict(BY_RESOURCE)},
                    {"$group": {"_id": "$rk", "n": {"$sum": 1}}},
                ]
            )
            counts.update((row["_id"], row["n"]) for row in rows)
        return counts

    # Exclusive parents (1.1) ------------------------------------------------

    async def slots_of(self, ws: AuthorizedWorkspace, rks: Sequence[str]) -> list[Doc]:
        """Every association of these resources with its slot (see TAGGING_SLOT_UNIQUE)."""
        return await self._t.find(
            {"ws": ws.id, "rk": {"$in": list(rks)}},
            projection={"_id": 0, "rk": 1, "tagId": 1, "slot": 1},
            sort=BY_RESOURCE,
        )

    async def clear_slots(
        self, ws: AuthorizedWorkspace, held: Sequence[tuple[str, str, str]]
    ) -> int:
        """Free the slots that (resource key, slot, tag id) hold: the tag left that parent.

        One call per (slot, tag): a tag that moved away holds its old slot on
        every resource it was added to then.
        """
        grouped: dict[tuple[str, str], list[str]] = {}
        for rk, slot, tag_id in held:
            grouped.setdefault((slot, tag_id), []).append(rk)
        cleared = 0
        for (slot, tag_id), rks in grouped.items():
            cleared += await self._t.update_many(
                {"ws": ws.id, "rk": {"$in": rks}, "slot": slot, "tagId": tag_id},
                {"$unset": {"slot": ""}},
            )
        return cleared

    # Tag.resources ----------------------------------------------------------

    def _by_tag(self, ws: AuthorizedWorkspace, tag_id: str, rtype: str | None) -> dict[str, Any]:
        return {"ws": ws.id, "tagId": tag_id, **_type_filter(rtype)}

    async def page_by_tag(
        self,
        ws: AuthorizedWorkspace,
        tag_id: str,
        rtype: str | None,
        *,
        after: Sequence[Any] | None,
        before: Sequence[Any] | None,
        limit: int,
        from_end: bool,
    ) -> list[Doc]:
        parts: list[dict[str, Any]] = [self._by_tag(ws, tag_id, rtype)]
        if after is not None:
            parts.append(keyset.after(BY_TAG_SORT, after))
        if before is not None:
            parts.append(keyset.before(BY_TAG_SORT, before))
        sort = keyset.reverse(BY_TAG_SORT) if from_end else BY_TAG_SORT
        docs = await self._t.find(
            {"$and": parts}, projection={"_id": 0, "rk": 1, "at": 1}, sort=sort, limit=limit
        )
        if from_end:
            docs.reverse()
        return docs

    async def exists_by_tag(
        self,
        ws: AuthorizedWorkspace,
        tag_id: str,
        rtype: str | None,
        values: Sequence[Any],
        *,
        forward: bool,
    ) -> bool:
        bound = keyset.after(BY_TAG_SORT, values) if forward else keyset.before(BY_TAG_SORT, values)
        # Sorted like the page itself, so it is the same shape (and index) as one.
        found = await self._t.find(
            {"$and": [self._by_tag(ws, tag_id, rtype), bound]},
            projection={"_id": 1},
            sort=BY_TAG_SORT,
            limit=1,
        )
        return bool(found)

    async def count_by_tag(self, ws: AuthorizedWorkspace, tag_id: str, rtype: str | None) -> int:
        return await self._t.count(self._by_tag(ws, tag_id, rtype))

    # Query.taggedResources --------------------------------------------------

    def _grouped(
        self,
        ws: AuthorizedWorkspace,
        groups: Sequence[Sequence[str]],
        match_all: bool,
        rtype: str | None,
    ) -> list[dict[str, Any]]:
        """Resources whose tags meet any/every group; each group is a tag and its matches."""
        every = sorted({t for g in groups for t in g})
        stages: list[dict[str, Any]] = [
            {"$match": {"ws": ws.id, "tagId": {"$in": every}, **_type_filter(rtype)}},
            {"$group": {"_id": "$rk", "at": {"$max": "$at"}, "tags": {"$addToSet": "$tagId"}}},
        ]
        if match_all and len(groups) > 1:
            stages.append({"$match": {"$and": [{"tags": {"$in": list(g)}} for g in groups]}})
        return stages

    async def page_resources(
        self,
        ws: AuthorizedWorkspace,
        groups: Sequence[Sequence[str]],
        match_all: bool,
        rtype: str | None,
        *,
        after: Sequence[Any] | None,
        before: Sequence[Any] | None,
        limit: int,
        from_end: bool,
    ) -> list[Doc]:
        tag_id = _single_tag(groups)
        if tag_id is not None:
            docs = await self.page_by_tag(
                ws, tag_id, rtype, after=after, before=before, limit=limit, from_end=from_end
            )
            return [{"_id": d["rk"], "at": d["at"]} for d in docs]
        stages = self._grouped(ws, groups, match_all, rtype)
        if after is not None:
            stages.append({"$match": keyset.after(RESOURCES_SORT, after)})
        if before is not None:
            stages.append({"$match": keyset.before(RESOURCES_SORT, before)})
        sort = keyset.reverse(RESOURCES_SORT) if from_end else RESOURCES_SORT
        stages += [{"$sort": dict(sort)}, {"$limit": limit}, {"$project": {"at": 1}}]
        rows = await self._t.aggregate(stages)
        if from_end:
            rows.reverse()
        return rows

    async def exists_resources(
        self,
        ws: AuthorizedWorkspace,
        groups: Sequence[Sequence[str]],
        match_all: bool,
        rtype: str | None,
        values: Sequence[Any],
        *,
        forward: bool,
    ) -> bool:
        tag_id = _single_tag(groups)
        if tag_id is not None:
            return await self.exists_by_tag(ws, tag_id, rtype, values, forward=forward)
        bound = (
            keyset.after(RESOURCES_SORT, values)
            if forward
            else keyset.before(RESOURCES_SORT, values)
        )
        stages = self._grouped(ws, groups, match_all, rtype)
        stages += [{"$match": bound}, {"$limit": 1}, {"$project": {"_id": 1}}]
        return bool(await self._t.aggregate(stages))

    async def count_resources(
        self,
        ws: AuthorizedWorkspace,
        groups: Sequence[Sequence[str]],
        match_all: bool,
        rtype: str | None,
    ) -> int:
        tag_id = _single_tag(groups)
        if tag_id is not None:
            return await self.count_by_tag(ws, tag_id, rtype)
        stages = [*self._grouped(ws, groups, match_all, rtype), {"$count": "n"}]
        rows = await self._t.aggregate(stages)
        return int(rows[0]["n"]) if rows else 0

    # Facets and related tags -------------------------------------------------

    async def tag_counts(
        self,
        ws: AuthorizedWorkspace,
        groups: Sequence[Sequence[str]],
        match_all: bool,
        rtype: str | None,
        first: int,
    ) -> list[Doc]:
        """`{_id: tag id, count}` over the most recent `COUNTED_RESOURCES` matched resources.

        One aggregation: the resources as taggedResources finds them, newest
        first and cut, then every tag they carry, counted and ranked.
        """
        stages = self._grouped(ws, groups, match_all, rtype)
        stages += [
            {"$sort": dict(RESOURCES_SORT)},
            {"$limit": COUNTED_RESOURCES},
            _carried_tags(ws, "_id"),
            {"$unwind": "$carried"},
            {"$group": {"_id": "$carried.tagId", "count": {"$sum": 1}}},
            *_live_tags_ranked(["count"], first),
        ]
        return await self._t.aggregate(stages)

    async def related(
        self, ws: AuthorizedWorkspace, tag_ids: Sequence[str], first: int
    ) -> dict[str, list[Doc]]:
        """For each tag, `{tag, count}` of the tags most often on the same resources.

        One aggregation for many tags: each tag's most recent `COUNTED_RESOURCES`
        resources (read in index order, cut per tag), the tags those carry,
        counted per (tag, other tag), ranked, and cut to `first` per tag.
        """
        rows = await self._t.aggregate(
            [
                {"$match": {"ws": ws.id, "tagId": {"$in": list(tag_ids)}}},
                {"$sort": dict(RELATED_SORT)},
                {"$group": {"_id": "$tagId", "rks": {"$push": "$rk"}}},
                {"$project": {"rks": {"$slice": ["$rks", COUNTED_RESOURCES]}}},
                {"$unwind": "$rks"},
                _carried_tags(ws, "rks"),
                {"$unwind": "$carried"},
                {"$match": {"$expr": {"$ne": ["$carried.tagId", "$_id"]}}},
                {
                    "$group": {
                        "_id": {"of": "$_id", "tag": "$carried.tagId"},
                        "count": {"$sum": 1},
                    }
                },
                {"$project": {"_id": "$_id.tag", "of": "$_id.of", "count": 1}},
                *_live_tags_ranked(["of", "count"], None),
                {"$group": {"_id": "$of", "top": {"$push": {"_id": "$_id", "count": "$count"}}}},
                {"$project": {"top": {"$slice": ["$top", first]}}},
            ]
        )
        return {row["_id"]: row["top"] for row in rows}

    # Repair -----------------------------------------------------------------

    async def usage_counts(self, tag_ids: Sequence[str] | None = None) -> list[Doc]:
        """Taggings per (tag, resource type), computed from the associations themselves."""
        match: list[dict[str, Any]] = (
            [] if tag_ids is None else [{"$match": {"tagId": {"$in": list(tag_ids)}}}]
        )
        return await self._t.aggregate(
            [*match, {"$group": {"_id": {"tag": "$tagId", "t": "$rtype"}, "n": {"$sum": 1}}}]
        )

    async def tag_ids(self) -> list[str]:
        # Sorted on the tagId index first: mongod then reads each id once off the index.
        rows = await self._t.aggregate([{"$sort": {"tagId": 1}}, {"$group": {"_id": "$tagId"}}])
        return [row["_id"] for row in rows]

    async def remove_for_missing_tags(self, tag_ids: Sequence[str]) -> int:
        return await self._t.delete_many({"tagId": {"$in": list(tag_ids)}})


# Tag counts and related tags count over at most this many resources (the contract).
# A module global so that a test can lower it.
COUNTED_RESOURCES = MAX_COUNTED_RESOURCES
# Each tag's taggings in TAGGING_BY_TAG order, so a tag's most recent come first.
RELATED_SORT: Sort = query_shapes.RELATED_SORT


def _carried_tags(ws: AuthorizedWorkspace, rk_field: str) -> dict[str, Any]:
    """The tag ids the resource in `rk_field` carries, as `carried` (served by the unique index)."""
    return {
        "$lookup": {
            "from": query_shapes.TAGGINGS,
            "localField": rk_field,
            "foreignField": "rk",
            "pipeline": [{"$match": {"ws": ws.id}}, {"$project": {"_id": 0, "tagId": 1}}],
            "as": "carried",
        }
    }


def _live_tags_ranked(first_keys: Sequence[str], limit: int | None) -> list[dict[str, Any]]:
    """Rows keyed by tag id, without tags on their way out, by count (most first) then name."""
    sort: dict[str, int] = {}
    for key in first_keys:
        sort[key] = -1 if key == "count" else 1
    sort |= {"tag.nameKey": 1, "_id": 1}
    stages: list[dict[str, Any]] = [
        {
            "$lookup": {
                "from": query_shapes.TAGS,
                "localField": "_id",
                "foreignField": "_id",
                "pipeline": [{"$project": {"nameKey": 1, "deleting": 1}}],
                "as": "tag",
            }
        },
        {"$unwind": "$tag"},
        {"$match": {"tag.deleting": {"$exists": False}}},
        {"$sort": sort},
    ]
    if limit is not None:
        stages.append({"$limit": limit})
    stages.append({"$project": {"tag": 0}})
    return stages


def _chunked(statements: Iterable[tuple[BulkOp, int]]) -> Iterator[tuple[list[BulkOp], int]]:
    """Statements grouped so that one call touches about CHUNK documents."""
    ops: list[BulkOp] = []
    size = 0
    for op, n in statements:
        if ops and size + n > CHUNK:
            yield ops, size
            ops, size = [], 0
        ops.append(op)
        size += n
    if ops:
        yield ops, size


def _single_tag(groups: Sequence[Sequence[str]]) -> str | None:
    """The one tag every group consists of, if so (taggedResources of one tag).

    A resource then has exactly one association that matches, so the resources
    in RESOURCES order (latest time first, then the resource key) are that tag's
    associations in the order of its index, as for Tag.resources: a page is an
    index range with its limit, where grouping first needs a blocking sort of
    every matched resource.
    """
    every = {t for group in groups for t in group}
    return next(iter(every)) if len(every) == 1 else None


def tagging_doc(ws: AuthorizedWorkspace, rk: str, tag_id: str, at: datetime) -> Doc:
    rtype, rid = split_key(rk)
    return {"ws": ws.id, "rk": rk, "rtype": rtype, "rid": rid, "tagId": tag_id, "at": at}
