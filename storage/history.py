"""(1.2) The change history: one document per change of one tag, in `tag_changes`.

    _id           the change's id: 24 hex digits of the mutation's ObjectId, then
                  the tag id's 24 (so one mutation's entries sort together, and an
                  entry rebuilt by a fix-up or repair has the id it had)
    ws, tagId     the workspace and the tag changed
    kind          CREATED, UPDATED, ARCHIVED, RESTORED, DELETED, MERGED, IMPORTED
    actor         principal id; null when unknown
    at            when (also what the TTL index expires by)
    changes       [{field, before, after}], each value as the API shows it
    mergedIntoId  for MERGED: the target

Without transactions an entry and its change are two writes. So that an
acknowledged change always has its entry, even after a crash between the two,
the entry travels with the change: a created or updated tag document carries
it in `changesPending` (written in the same statement as the change), a
deleted or merged one in its `deleting` flag. A statement that changes many
tags at once (archive, restore) pushes one stub to all of them: the entry
without its tag, whose `_id` is the change's 24 digits (`completed`). The
request then copies it here and takes it off the tag (`flush`); a store
outage leaves that to the recovery journal, a crash to repair
(`copy_pending`). Inserting an entry twice writes it once: the `_id` is
fixed before the first attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from storage import keyset
from storage.access import AuthorizedWorkspace, Visibility
from storage.collection import Collection, Doc
from storage.errors import PartialInsert
from storage.query_shapes import BY_ID, CHANGES_SORT, TAG_CHANGES, indexes_of

# Where a tag document carries entries not yet copied to the history.
PENDING = "changesPending"
# FieldChange.field, in the order a change lists them.
FIELDS = (
    "name",
    "slug",
    "color",
    "description",
    "category",
    "metadata",
    "aliases",
    "exclusive",
    "parent",
)
# Kinds whose entry lists the tag's fields on one side only.
WHOLE_BEFORE = frozenset({"DELETED", "MERGED"})
WHOLE_AFTER = frozenset({"CREATED"})
# Kinds that change none of FIELDS: their entries list no field.
STATE_KINDS = frozenset({"ARCHIVED", "RESTORED"})
# Kinds that are only worth an entry when a field changed. An import's entry is
# written for every tag the import changed, also one it only archived.
FIELD_KINDS = frozenset({"UPDATED"})
TTL_FIELD = "at"
TTL_INDEX = "at_ttl"
SECONDS_PER_DAY = 86_400


def shown(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored tag's FieldChange fields as the API shows them (parent as its id)."""
    return {
        "name": doc["name"],
        "slug": doc["slug"],
        "color": doc["color"],
        "description": doc.get("description"),
        "category": doc.get("category"),
        "metadata": doc.get("metadata") or {},
        "aliases": list(doc.get("aliases") or []),
        "exclusive": bool(doc.get("exclusive", False)),
        "parent": doc.get("parentId"),
    }


def _is_set(value: Any) -> bool:
    """Whether a field has a value worth listing for a whole tag (CREATED, DELETED)."""
    return value is not None and value is not False and value != {} and value != []


def field_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The FieldChanges between two stored versions of a tag (None: no such version).

    With one side missing (a created or a deleted tag) every field set on the
    other side is listed, the missing side null.
    """
    old = shown(before) if before is not None else None
    new = shown(after) if after is not None else None
    found: list[dict[str, Any]] = []
    for name in FIELDS:
        was = old[name] if old is not None else None
        now = new[name] if new is not None else None
        if old is None or new is None:
            if _is_set(was if new is None else now):
                found.append({"field": name, "before": was, "after": now})
        elif was != now:
            found.append({"field": name, "before": was, "after": now})
    return found


def change_id(base: str, tag_id: str) -> str:
    """The entry of one tag in one change: the change's id, then the tag's hex digits."""
    return base + tag_id.removeprefix("tag_")


def entry(
    base: str,
    workspace_id: str,
    kind: str,
    tag_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    actor: str | None,
    at: Any,
    merged_into_id: str | None = None,
) -> Doc | None:
    """The history entry of one tag in one change; None when it changed no field
    and its kind is only about fields (UPDATED, IMPORTED)."""
    if kind in WHOLE_BEFORE:
        after = None
    if kind in WHOLE_AFTER:
        before = None
    changes = [] if kind in STATE_KINDS else field_changes(before, after)
    if kind in FIELD_KINDS and before is not None and after is not None and not changes:
        return None
    doc: Doc = {
        "_id": change_id(base, tag_id),
        "ws": workspace_id,
        "tagId": tag_id,
        "kind": kind,
        "actor": actor,
        "at": at,
        "changes": changes,
    }
    if merged_into_id is not None and kind == "MERGED":
        doc["mergedIntoId"] = merged_into_id
    return doc


def stub(base: str, workspace_id: str, kind: str, *, actor: str | None, at: Any) -> Doc:
    """The entry of a change of many tags whose fields it does not touch, as all of
    them carry it (see `completed`)."""
    return {"_id": base, "ws": workspace_id, "kind": kind, "actor": actor, "at": at, "changes": []}


def completed(doc: Mapping[str, Any], carried: Mapping[str, Any]) -> Doc:
    """The entry a tag carries, made whole: a stub gets the tag's id."""
    if "tagId" in carried:
        return dict(carried)
    return {**carried, "_id": change_id(carried["_id"], doc["_id"]), "tagId": doc["_id"]}


def flagged_entries(doc: Mapping[str, Any]) -> list[Doc]:
    """What a tag flagged for deletion or merging records (its flag's `change`):
    its own DELETED or MERGED entry, and a merge's entry of its target."""
    flag = doc.get("deleting")
    change = flag.get("change") if isinstance(flag, Mapping) else None
    if not isinstance(change, Mapping):
        return []
    target = flag.get("mergeInto") if isinstance(flag, Mapping) else None
    own = entry(
        change["id"],
        doc["ws"],
        change["kind"],
        doc["_id"],
        doc,
        None,
        actor=change.get("actor"),
        at=change["at"],
        merged_into_id=target,
    )
    found = [own] if own is not None else []
    if isinstance(change.get("target"), Mapping):
        found.append(dict(change["target"]))
    return found


class HistoryStore:
    def __init__(self, changes: Collection, tags: Collection) -> None:
        self._c = changes
        self._tags = tags

    async def ensure_indexes(self, keep_days: int) -> None:
        for index in indexes_of(TAG_CHANGES):
            await self._c.ensure_index(index)
        # `TAGS_HISTORY_DAYS`: 0 keeps entries forever (no TTL index at all).
        seconds = keep_days * SECONDS_PER_DAY if keep_days > 0 else None
        await self._c.set_ttl_index(TTL_INDEX, TTL_FIELD, seconds)

    async def ttl_seconds(self) -> int | None:
        """The expiry the TTL index has now (None: entries are kept forever)."""
        return await self._c.ttl_of(TTL_INDEX)

    # Writes ----------------------------------------------------------------

    async def insert(self, entries: Sequence[Doc]) -> int:
        """Write the entries not written yet; returns how many were new."""
        if not entries:
            return 0
        try:
            await self._c.insert_many(entries, ordered=False)
        except PartialInsert as partial:
            # Written before (an attempt whose answer was lost, a fix-up, repair).
            return len(partial.inserted)
        return len(entries)

    async def delete(self, entry_ids: Iterable[str]) -> None:
        """Take entries back (an import undone after its entries may have landed)."""
        ids = sorted(set(entry_ids))
        if ids:
            await self._c.delete_many({"_id": {"$in": ids}})

    async def clear_pending(self, tag_ids: Iterable[str], entry_ids: Iterable[str]) -> None:
        """Take copied entries off their tags (one statement for all of them), and
        the stubs they were made from (an entry's id starts with its stub's)."""
        ids = sorted(set(tag_ids))
        carried = {*entry_ids}
        carried |= {entry_id[:24] for entry_id in carried}
        if ids:
            await self._tags.update_many(
                {"_id": {"$in": ids}}, {"$pull": {PENDING: {"_id": {"$in": sorted(carried)}}}}
            )

    async def copy_pending(self, tag_ids: Sequence[str] | None = None) -> int:
        """Copy the entries these tags (None: every tag) still carry to the history,
        then take them off; returns how many were not in the history yet.

        What a fix-up runs after a store failure, and repair after a crash: a tag
        taken back meanwhile (a refused create) carries nothing any more.
        """
        query: dict[str, Any] = {PENDING: {"$exists": True, "$ne": []}}
        if tag_ids is not None:
            query["_id"] = {"$in": list(tag_ids)}
        carrying = await self._tags.find(
            query, projection={PENDING: 1}, sort=BY_ID if tag_ids is not None else None
        )
        entries = [completed(doc, e) for doc in carrying for e in doc[PENDING]]
        if not entries:
            return 0
        written = await self.insert(entries)
        await self.clear_pending([d["_id"] for d in carrying], [e["_id"] for e in entries])
        return written

    # Reads -----------------------------------------------------------------

    async def page(
        self,
        ws: AuthorizedWorkspace,
        *,
        tag_id: str | None,
        actor: str | None,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[Doc]:
        """Up to `limit` entries, newest first (ties by id), strictly after `after`."""
        query = _narrowed(ws, tag_id, actor)
        if after is not None:
            query = {"$and": [query, keyset.after(CHANGES_SORT, after)]}
        return await self._c.find(query, sort=CHANGES_SORT, limit=limit)

    async def exists_before(
        self,
        ws: AuthorizedWorkspace,
        values: Sequence[Any],
        *,
        tag_id: str | None,
        actor: str | None,
    ) -> bool:
        """Is any entry newer than `values` (hasPreviousPage)?"""
        bound = keyset.before(CHANGES_SORT, values)
        found = await self._c.find(
            {"$and": [_narrowed(ws, tag_id, actor), bound]},
            projection={"_id": 1},
            sort=keyset.reverse(CHANGES_SORT),
            limit=1,
        )
        return bool(found)

    async def count(self, ws: AuthorizedWorkspace, *, tag_id: str | None, actor: str | None) -> int:
        return await self._c.count(_narrowed(ws, tag_id, actor))

    async def of_tags(
        self,
        ws: AuthorizedWorkspace,
        wanted: Sequence[tuple[str, Sequence[Any] | None]],
        limit: int,
    ) -> dict[str, list[Doc]]:
        """Each (tag id, cursor)'s first `limit` entries, in one call.

        One `$unionWith` branch per tag, each a range of the (ws, tagId, at, _id)
        index with its own limit: a page of tags with their history is one round
        trip, and no tag's long history is read beyond its page.
        """
        if not wanted or limit <= 0:
            return {tag_id: [] for tag_id, _ in wanted}
        branches = [_branch(ws, tag_id, after, limit) for tag_id, after in wanted]
        pipeline = [
            *branches[0],
            *({"$unionWith": {"coll": TAG_CHANGES, "pipeline": b}} for b in branches[1:]),
        ]
        found: dict[str, list[Doc]] = {tag_id: [] for tag_id, _ in wanted}
        for doc in await self._c.aggregate(pipeline):
            found.setdefault(doc["tagId"], []).append(doc)
        return found

    async def by_ids(self, ids: Iterable[str], visible: Visibility) -> list[Doc]:
        return await self._c.find(visible.restrict({"_id": {"$in": list(ids)}}), sort=BY_ID)


def _narrowed(ws: AuthorizedWorkspace, tag_id: str | None, actor: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"ws": ws.id}
    if tag_id is not None:
        query["tagId"] = tag_id
    if actor is not None:
        query["actor"] = actor
    return query


def _branch(
    ws: AuthorizedWorkspace, tag_id: str, after: Sequence[Any] | None, limit: int
) -> list[Mapping[str, Any]]:
    match: dict[str, Any] = {"ws": ws.id, "tagId": tag_id}
    if after is not None:
        match = {"$and": [match, keyset.after(CHANGES_SORT, after)]}
    return [{"$match": match}, {"$sort": dict(CHANGES_SORT)}, {"$limit": limit}]
