"""Repair: bring derived data back in line with the source of truth.

Multi-document changes run as ordered steps without transactions; a crash
between two steps leaves work this routine finishes:

0. tags stored before aliases existed get their name keys (`nameKeys`,
   `searchKeys`: see storage/tags.py);
1. tags flagged `deleting` are removed as their delete or merge intended
   (a merge's associations first go to its target, and the names its flag
   lists become the target's aliases once the sources have given them up);
2. `ancestors`/`depth` are recomputed from `parentId` (a parent that no longer
   exists makes the tag a root);
3. associations whose tag no longer exists are removed;
4. usage counters are recounted from the associations;
5. (1.2) history entries a crash left in their tags (created and updated
   ones carry them until they are copied; flagged ones in their flag) are
   copied to the history, each once.

Every step is idempotent: running it twice changes nothing the second time.
`make repair` (`tags-admin repair`) runs it on the configured store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from config.limits import MAX_ALIASES_PER_TAG
from storage import Doc, Store
from storage.access import AuthorizedWorkspace
from storage.history import flagged_entries
from storage.taggings import tagging_doc
from storage.tags import type_key

# Longest parent chain followed while finishing a merge; longer means a cycle.
MAX_WALK = 16


def now_utc() -> datetime:
    """A timestamp as the store keeps them (resolvers/clock.py, which storage may not import)."""
    current = datetime.now(UTC).replace(tzinfo=None)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


@dataclass
class RepairReport:
    name_keys_built: int = 0
    similar_keys_built: int = 0
    finished_deletes: int = 0
    finished_merges: int = 0
    orphans_rerooted: int = 0
    paths_fixed: int = 0
    dangling_taggings: int = 0
    counters_fixed: int = 0
    history_entries_written: int = 0

    @property
    def clean(self) -> bool:
        return not any(asdict(self).values())


async def _child_toward(
    store: Store, ws: AuthorizedWorkspace, source_id: str, target: Doc
) -> str | None:
    """The child of the source whose subtree holds the target (the target itself
    when it is a direct child), following parentId; None when it is not below."""
    current = target
    for _ in range(MAX_WALK):
        parent = current.get("parentId")
        if parent is None:
            return None
        if parent == source_id:
            return str(current["_id"])
        above = await store.tags.in_workspace(ws, [parent])
        if not above:
            return None
        current = above[0]
    return None


async def _finish_removals(
    store: Store, report: RepairReport, ids: list[str] | None = None
) -> None:
    flagged = await store.tags.flagged(ids)
    gone = {d["_id"] for d in flagged}
    # Every source of a merge gives its names up before any target adopts them:
    # a source still holding one would make the index refuse it.
    releasing: defaultdict[str, list[str]] = defaultdict(list)
    for doc in flagged:
        if isinstance(doc["deleting"], dict) and doc["deleting"].get("adopt"):
            releasing[doc["ws"]].append(doc["_id"])
    for workspace, released in releasing.items():
        await store.tags.release_names(AuthorizedWorkspace(workspace), released)
    for doc in sorted(flagged, key=lambda d: -d.get("depth", 0)):
        ws = AuthorizedWorkspace(doc["ws"])
        flag = doc["deleting"]
        target = flag.get("mergeInto") if isinstance(flag, dict) else None
        found = await store.tags.in_workspace(ws, [target]) if target and target not in gone else []
        # Children go to the nearest ancestor that is not itself on its way out.
        kept = [a for a in doc.get("ancestors", []) if a not in gone]
        lifted = kept[-1] if kept else None
        if found and target:
            adopt = flag.get("adopt") if isinstance(flag, dict) else None
            if adopt:
                await store.tags.adopt_names(
                    ws, target, adopt, limit=MAX_ALIASES_PER_TAG, at=now_utc()
                )
            rows = await store.taggings.of_tags(ws, [doc["_id"]])
            # Associations the target already has are skipped by the unique index.
            await store.taggings.insert([tagging_doc(ws, r["rk"], target, r["at"]) for r in rows])
            # A target below the source: the child on the way down to it (maybe the
            # target itself) moves up instead, else the target would be its own ancestor.
            toward = await _child_toward(store, ws, doc["_id"], found[0])
            if toward is not None:
                await store.tags.set_fields(toward, {"parentId": lifted})
            await store.tags.reparent_children(ws, doc["_id"], target)
            report.finished_merges += 1
        else:
            await store.tags.reparent_children(ws, doc["_id"], lifted)
            report.finished_deletes += 1
        await store.taggings.remove_tags(ws, [doc["_id"]])
        # The history entry the flag carries goes in before the tag goes out.
        report.history_entries_written += await store.history.insert(flagged_entries(doc))
        await store.tags.delete_ids(ws, [doc["_id"]])


async def _fix_paths(store: Store, report: RepairReport, workspace: str | None = None) -> None:
    projection = {"ws": 1, "parentId": 1, "ancestors": 1, "depth": 1}
    # Tags on their way out still count as parents: their own delete moves the children.
    docs = {d["_id"]: d for d in await store.tags.all_docs(projection, workspace, live_only=False)}
    parent_of: dict[str, str | None] = {}
    for tag_id, doc in docs.items():
        parent = doc.get("parentId")
        if parent is not None and (parent not in docs or docs[parent]["ws"] != doc["ws"]):
            parent = None
            report.orphans_rerooted += 1
        parent_of[tag_id] = parent
    paths: dict[str, list[str]] = {}

    def path(tag_id: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if tag_id in paths:
            return paths[tag_id]
        parent = parent_of[tag_id]
        if parent is None or parent == tag_id or parent in seen:
            # A cycle cannot be walked; breaking it here makes this tag a root.
            parent_of[tag_id] = None
            result: list[str] = []
        else:
            result = [*path(parent, seen | {tag_id}), parent]
        paths[tag_id] = result
        return result

    for tag_id, doc in docs.items():
        ancestors = path(tag_id)
        if (
            ancestors != doc.get("ancestors")
            or len(ancestors) != doc.get("depth")
            or parent_of[tag_id] != doc.get("parentId")
        ):
            await store.tags.set_place(tag_id, parent_of[tag_id], ancestors)
            report.paths_fixed += 1


async def _remove_dangling(store: Store, report: RepairReport) -> None:
    used = await store.taggings.tag_ids()
    existing = {d["_id"] for d in await store.tags.by_id_list(used)}
    missing = [t for t in used if t not in existing]
    if missing:
        report.dangling_taggings += await store.taggings.remove_for_missing_tags(missing)


async def _recount(store: Store, report: RepairReport, tag_ids: list[str] | None = None) -> None:
    counted: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for row in await store.taggings.usage_counts(tag_ids):
        counted[row["_id"]["tag"]][type_key(row["_id"]["t"])] = row["n"]
    docs = (
        await store.tags.all_docs({"usage": 1, "usageByType": 1})
        if tag_ids is None
        else await store.tags.by_id_list(tag_ids, {"usage": 1, "usageByType": 1})
    )
    for doc in docs:
        by_type = counted.get(doc["_id"], {})
        stored = {k: v for k, v in (doc.get("usageByType") or {}).items() if v}
        if stored != by_type or doc.get("usage", 0) != sum(by_type.values()):
            fields: dict[str, Any] = {"usage": sum(by_type.values()), "usageByType": by_type}
            await store.tags.set_fields(doc["_id"], fields)
            report.counters_fixed += 1


async def complete_removals(store: Store, ids: list[str]) -> None:
    """Finish deletes/merges of these tags that a failure interrupted (idempotent)."""
    report = RepairReport()
    workspaces = {d["ws"] for d in await store.tags.by_id_list(ids, {"ws": 1})}
    await _finish_removals(store, report, ids)
    for workspace in workspaces:
        await _fix_paths(store, report, workspace)


async def complete_workspace(store: Store, workspace: str) -> None:
    """Finish whatever tree change a dead lock holder left in one workspace: its
    flagged deletes and merges, then every path (idempotent)."""
    report = RepairReport()
    flagged = await store.tags.all_docs({"_id": 1, "deleting": 1}, workspace, live_only=False)
    flags = {d["_id"]: d["deleting"] for d in flagged if d.get("deleting")}
    if flags:
        await _finish_removals(store, report, list(flags))
        # A merge's target gained the sources' associations: its counters follow.
        targets = [
            f["mergeInto"] for f in flags.values() if isinstance(f, dict) and f.get("mergeInto")
        ]
        if targets:
            await _recount(store, report, targets)
    await _fix_paths(store, report, workspace)


async def recount(store: Store, tag_ids: list[str]) -> None:
    await _recount(store, RepairReport(), tag_ids)


async def fix_paths(store: Store, workspace: str) -> None:
    await _fix_paths(store, RepairReport(), workspace)


async def repair(store: Store) -> RepairReport:
    report = RepairReport()
    report.name_keys_built = await store.tags.build_missing_name_keys()
    report.similar_keys_built = await store.tags.build_missing_similar_keys()
    # Entries a crash left in their tags (written with the change, not copied yet).
    report.history_entries_written += await store.history.copy_pending()
    await _finish_removals(store, report)
    await _fix_paths(store, report)
    await _remove_dangling(store, report)
    await _recount(store, report)
    return report


def print_report(report: RepairReport) -> None:
    for name, value in asdict(report).items():
        print(f"{name.replace('_', ' ')}: {value}")
    print("nothing to fix" if report.clean else "repaired")
