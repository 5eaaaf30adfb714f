"""What an import does, decided from the file's rows and the workspace's tags alone.

No I/O: `plan` is a pure function of the rows, every tag document of the
workspace and the mode, so it runs off the event loop (importing.py hands it
to a thread) and a dry run is the same decision without the writes.

Each row matches the tag whose name or alias equals the row's name (after
normalization, without regard to case). In MERGE a matched tag takes the
row's non-empty fields, in CREATE_ONLY it is left alone; a row that matches
nothing is a new tag. Every rule of createTag and updateTag holds, checked
against the workspace as it is now: a name, alias or slug another tag holds
is NAME_TAKEN / SLUG_TAKEN even when the same file takes it away from that
tag (moving a name between two tags takes two imports, as it takes two
updateTag calls). A parent is the tag that has that slug once the import is
done: one of the file or one of the workspace. The whole tree after the
import is computed here, so cycles and depth are checked for every tag the
import moves (rows and their descendants) before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.limits import MAX_TAGS_PER_WORKSPACE, MAX_TREE_DEPTH
from i18n import N_, msg
from resolvers.errors import Problem, Problems, UserErrorCode, UserFailure, missing, taken
from resolvers.normalization import (
    default_color,
    name_key,
    new_tag_id,
    normalize_slug,
    slug_with_suffix,
)
from resolvers.tags import slugs
from resolvers.tags.drafts import (
    category_fields,
    check_own_names,
    read_fields,
    stored_fields,
    text_fields,
)
from resolvers.tags.io.rows import (
    CONTENT,
    ImportMode,
    Row,
    archived_fields,
    is_archived,
)
from storage import Doc, is_live
from storage.tags import name_keys_of

# Row fields that are CreateTagInput/UpdateTagInput fields of the same name.
DRAFT_FIELDS = ("name", "slug", "color", "description", "category", "metadata", "aliases")
# What a field reads as when a document lacks it (tags stored before 1.1).
_ABSENT: dict[str, Any] = {"exclusive": False}
PLACE_FIELDS = ("parentId", "ancestors", "depth")


@dataclass(slots=True)
class Created:
    n: int
    doc: Doc


@dataclass(slots=True)
class Updated:
    """A tag the import changes: its document before, and the fields it sets.

    `n` is the file's row; None for a tag the file leaves alone whose path
    changes because an ancestor moves (only PLACE_FIELDS in `changes`)."""

    n: int | None
    before: Doc
    changes: dict[str, Any]

    @property
    def after(self) -> Doc:
        return {**self.before, **self.changes}


@dataclass(slots=True)
class Plan:
    created: list[Created] = field(default_factory=list)  # parents before children
    updated: list[Updated] = field(default_factory=list)  # rows, in file order
    moved: list[Updated] = field(default_factory=list)  # descendants of moved rows
    unchanged: int = 0

    @property
    def touches_tree(self) -> bool:
        """Whether it creates a tag below a parent or moves one: a tree change."""
        return (
            any(c.doc["parentId"] for c in self.created)
            or bool(self.moved)
            or any("parentId" in u.changes or "ancestors" in u.changes for u in self.updated)
        )


@dataclass(slots=True)
class _Item:
    row: Row
    values: dict[str, Any]
    parent_slug: str | None
    archived: bool | None
    target: Doc | None = None
    # The tag's document as the import leaves it (new tags: the whole document).
    doc: Doc = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return name_key(self.values["name"])

    @property
    def tag_id(self) -> str:
        return str(self.doc["_id"])

    def path(self, *more: str) -> tuple[str, ...]:
        return self.row.path(*more)


def _read(row: Row, problems: Problems) -> _Item | None:
    """The row's values by every rule of the tag fields; None when any failed."""
    before = len(problems.found)
    given = row.fields
    raw = {k: given[k] for k in DRAFT_FIELDS if k in given}
    if "exclusive" in given:
        raw["exclusive"] = given["exclusive"]
    if "name" not in raw:
        problems.add(
            Problem(UserErrorCode.VALIDATION, N_("Every tag needs a name."), row.path("name"))
        )
    values = read_fields(raw, row.path(), problems)
    parent = None
    if "parent" in given:
        parent = problems.check(lambda: normalize_slug(given["parent"], path=row.path("parent")))
    if len(problems.found) > before:
        return None
    # Blank once normalized (a description of spaces): empty, like an empty cell.
    values = {k: v for k, v in values.items() if v is not None}
    return _Item(row, values, parent, given.get("archived"))


def _by_row(problem: Problem) -> int:
    """The row a problem names (`["content", "3", "name"]`); -1 for the whole file."""
    path = problem.field or ()
    return int(path[1]) if len(path) > 1 and path[1].isdigit() else -1


class _Workspace:
    """The workspace's tags as the planner looks them up."""

    def __init__(self, docs: Sequence[Doc]) -> None:
        self.docs = docs
        self.live = [d for d in docs if is_live(d)]
        # Flagged tags still hold their names and slugs in the unique indexes.
        self.by_key = {key: d for d in docs for key in name_keys_of(d)}
        self.by_slug = {d["slug"]: d for d in docs}
        self.by_id = {d["_id"]: d for d in docs}


def _match(items: Sequence[_Item], ws: _Workspace, problems: Problems) -> None:
    """Each item's matching tag, and names and slugs repeated within the file."""
    names: set[str] = set()
    explicit: set[str] = set()
    matched: set[str] = set()
    for item in items:
        target = ws.by_key.get(item.key)
        if target is not None and not is_live(target):
            problems.add(taken("name", item.path("name")))
        elif target is not None and target["_id"] in matched:
            problems.add(taken("name", item.path("name"), in_batch=True))
        elif target is not None:
            matched.add(target["_id"])
            item.target = target
        keys = [(item.path("name"), item.key)] + [
            (item.path("aliases", str(j)), name_key(a))
            for j, a in enumerate(item.values.get("aliases", []))
        ]
        for path, key in keys:
            if key in names:
                problems.add(taken("name", path, in_batch=True))
        names.update(key for _, key in keys)
        slug = item.values.get("slug")
        if slug is not None:
            if slug in explicit:
                problems.add(taken("slug", item.path("slug"), in_batch=True))
            explicit.add(slug)


def _final_name(item: _Item) -> str:
    """A row naming a tag by one of its aliases leaves its name as it is."""
    target = item.target
    if target is not None and target["nameKey"] != item.key:
        return str(target["name"])
    return str(item.values["name"])


def _held_elsewhere(item: _Item, ws: _Workspace, problems: Problems) -> None:
    """NAME_TAKEN / SLUG_TAKEN for aliases and slugs another tag holds now."""
    own = item.target["_id"] if item.target is not None else None
    for j, alias in enumerate(item.values.get("aliases", [])):
        holder = ws.by_key.get(name_key(alias))
        if holder is not None and holder["_id"] != own:
            problems.add(taken("name", item.path("aliases", str(j))))
    slug = item.values.get("slug")
    holder = ws.by_slug.get(slug) if slug is not None else None
    if holder is not None and holder["_id"] != own:
        problems.add(taken("slug", item.path("slug")))


def _new_doc(item: _Item, ws_id: str, creator: str, at: datetime) -> Doc:
    values = item.values
    name = values["name"]
    tag_id = new_tag_id()
    doc: Doc = {
        "_id": tag_id,
        "ws": ws_id,
        **text_fields(name, values.get("aliases", [])),
        "slug": values.get("slug"),
        "color": values.get("color") or default_color(name),
        "description": values.get("description"),
        **category_fields(values.get("category")),
        "metadata": values.get("metadata") or {},
        "exclusive": values.get("exclusive", False),
        "createdBy": creator,
        "parentId": None,
        "ancestors": [],
        "depth": 0,
        "usage": 0,
        "usageByType": {},
        "createdAt": at,
        "updatedAt": at,
    }
    if item.archived:
        doc.update(archived_fields(True, at))
    return doc


def _field_changes(item: _Item, at: datetime) -> dict[str, Any]:
    """The stored fields a MERGE row changes on its tag (no place yet)."""
    target = item.target
    assert target is not None
    values = dict(item.values)
    if target["nameKey"] != item.key:
        del values["name"]
    stored = stored_fields(values, target)
    changes = {k: v for k, v in stored.items() if target.get(k, _ABSENT.get(k)) != v}
    if item.archived is not None and item.archived != is_archived(target):
        changes.update(archived_fields(item.archived, at))
    return changes


def _generated_slugs(new: Sequence[_Item], ws: _Workspace, explicit: Iterable[str]) -> None:
    """A free slug for every new tag the file gives none, as createTag makes them."""
    used = set(ws.by_slug) | set(explicit)
    for item in new:
        if item.doc["slug"] is not None:
            continue
        base = slugs.generated(item.doc["name"], item.tag_id)
        slug, n = base, 2
        while slug in used:
            slug, n = slug_with_suffix(base, n), n + 1
        item.doc["slug"] = slug
        used.add(slug)


def _too_deep(path: tuple[str, ...]) -> Problem:
    return Problem(
        UserErrorCode.DEPTH_EXCEEDED,
        msg("Tags can be nested at most {max} levels deep.", max=MAX_TREE_DEPTH + 1),
        path,
    )


class _Tree:
    """The tree once the import is done, for the tags whose place it changes."""

    def __init__(self, ws: _Workspace, items: Sequence[_Item], new_parent: Mapping[str, Any]):
        self.ws = ws
        self.row_of = {i.tag_id: i for i in items}
        self.parent_of: dict[str, str | None] = {d["_id"]: d.get("parentId") for d in ws.docs}
        self.parent_of.update(new_parent)
        children: dict[str, list[str]] = {}
        for tag_id, parent in self.parent_of.items():
            if parent is not None:
                children.setdefault(parent, []).append(tag_id)
        # The tags that move, and every tag below one of them.
        self.affected: set[str] = set()
        pending = list(new_parent)
        while pending:
            tag_id = pending.pop()
            if tag_id not in self.affected:
                self.affected.add(tag_id)
                pending.extend(children.get(tag_id, ()))
        self.ancestors: dict[str, list[str]] = {}
        self.cyclic: set[str] = set()
        # Below a cycle: no place, and no problem of their own.
        self.lost: set[str] = set()
        self.deep: set[str] = set()
        for tag_id in self.affected:
            self._place(tag_id)

    def _base(self, parent: str | None) -> list[str] | None:
        """Ancestors below `parent` when it is no moving tag; None when it is one."""
        if parent is None:
            return []
        if parent in self.affected:
            return None
        doc = self.ws.by_id.get(parent)
        return [*doc["ancestors"], parent] if doc is not None else []

    def _place(self, start: str) -> None:
        """Ancestors of `start` and of every moving tag on its way up, walking up
        until a tag whose place is known; a walk that comes back to itself is a cycle."""
        chain: list[str] = []
        on_chain: set[str] = set()
        current = start
        while True:
            if current in self.ancestors:
                base: list[str] | None = [*self.ancestors[current], current]
                break
            if current in on_chain:
                self.cyclic.update(chain[chain.index(current) :])
                base = None
                break
            if current in self.cyclic or current in self.lost:
                base = None
                break
            chain.append(current)
            on_chain.add(current)
            parent = self.parent_of.get(current)
            base = self._base(parent)
            if base is not None or parent is None:
                break
            current = parent
        if base is None:
            # Into or below a cycle: no tag of the chain has a place (the cycle is reported).
            self.lost.update(t for t in chain if t not in self.cyclic)
            return
        for tag_id in reversed(chain):
            self.ancestors[tag_id] = base
            if len(base) > MAX_TREE_DEPTH:
                # Too deep, and so is everything below: the path stops growing, so a
                # hostile chain of thousands of tags costs no more than a short one.
                self.deep.add(tag_id)
            else:
                base = [*base, tag_id]

    def problems(self) -> list[Problem]:
        found: dict[tuple[str, ...], Problem] = {}
        for tag_id in self.cyclic:
            item = self.row_of.get(tag_id)
            if item is not None and item.parent_slug is not None:
                path = item.path("parent")
                found[path] = Problem(
                    UserErrorCode.CYCLE, N_("A tag cannot move below its own descendant."), path
                )
        for tag_id in self.deep:
            item = self._nearest_moved_row(tag_id)
            path = item.path("parent") if item is not None else (CONTENT,)
            found.setdefault(path, _too_deep(path))
        return list(found.values())

    def _nearest_moved_row(self, tag_id: str) -> _Item | None:
        current: str | None = tag_id
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            item = self.row_of.get(current)
            if item is not None and item.parent_slug is not None:
                return item
            current = self.parent_of.get(current)
        return None


def _parents(items: Sequence[_Item], ws: _Workspace, problems: Problems) -> dict[str, str | None]:
    """The new parent of every tag whose parent the file sets (new tags: always)."""
    final_slugs = {d["slug"]: d["_id"] for d in ws.live}
    for item in items:
        old = item.target["slug"] if item.target is not None else None
        if old is not None and final_slugs.get(old) == item.tag_id:
            del final_slugs[old]
    for item in items:
        final_slugs[item.doc["slug"]] = item.tag_id
    new_parent: dict[str, str | None] = {}
    for item in items:
        if item.parent_slug is None:
            if item.target is None:
                new_parent[item.tag_id] = None
            continue
        parent = final_slugs.get(item.parent_slug)
        if parent is None:
            problems.add(missing(item.path("parent"), "Parent tag"))
        elif parent == item.tag_id:
            problems.add(
                Problem(
                    UserErrorCode.CYCLE, N_("A tag cannot be its own parent."), item.path("parent")
                )
            )
        elif item.target is None or item.target.get("parentId") != parent:
            new_parent[item.tag_id] = parent
    return new_parent


def _place_changes(tree: _Tree, doc: Doc) -> dict[str, Any]:
    tag_id = doc["_id"]
    parent = tree.parent_of.get(tag_id)
    ancestors = tree.ancestors[tag_id]
    place = {"parentId": parent, "ancestors": ancestors, "depth": len(ancestors)}
    return {k: v for k, v in place.items() if doc.get(k) != v}


def plan(
    rows: Sequence[Row],
    docs: Sequence[Doc],
    mode: ImportMode,
    *,
    ws_id: str,
    creator: str,
    at: datetime,
) -> Plan:
    """The import of `rows` into a workspace holding `docs` (every tag document of it,
    flagged ones included); UserFailure with every problem found, by row."""
    problems = Problems()
    ws = _Workspace(docs)
    items = [i for i in (_read(row, problems) for row in rows) if i is not None]
    _match(items, ws, problems)
    result = Plan()
    active: list[_Item] = []
    for item in items:
        if item.target is not None and mode is ImportMode.CREATE_ONLY:
            result.unchanged += 1
            continue
        check_own_names(_final_name(item), item.values.get("aliases", []), item.path(), problems)
        _held_elsewhere(item, ws, problems)
        if item.target is None:
            item.doc = _new_doc(item, ws_id, creator, at)
        else:
            item.changes = _field_changes(item, at)
            item.doc = {**item.target, **item.changes}
        active.append(item)
    new = [i for i in active if i.target is None]
    _generated_slugs(new, ws, (i.values["slug"] for i in active if "slug" in i.values))
    new_parent = _parents(active, ws, problems)
    tree = _Tree(ws, active, new_parent)
    for problem in tree.problems():
        problems.add(problem)
    if len(ws.live) + len(new) > MAX_TAGS_PER_WORKSPACE:
        problems.add(
            Problem(
                UserErrorCode.LIMIT_EXCEEDED,
                msg("A workspace can hold at most {max} tags.", max=MAX_TAGS_PER_WORKSPACE),
                (CONTENT,),
            )
        )
    if problems.found:
        problems.found.sort(key=_by_row)
        raise UserFailure(problems.found)

    for item in active:
        if item.target is None:
            item.doc.update(_place_changes(tree, item.doc))
            result.created.append(Created(item.row.n, item.doc))
            continue
        if item.tag_id in tree.affected:
            item.changes.update(_place_changes(tree, item.target))
        if item.changes:
            item.changes["updatedAt"] = at
            result.updated.append(Updated(item.row.n, item.target, item.changes))
        else:
            result.unchanged += 1
    rows_of = {i.tag_id for i in active}
    for tag_id in sorted(tree.affected - rows_of):
        before = ws.by_id[tag_id]
        changes = _place_changes(tree, before)
        if changes:
            result.moved.append(Updated(None, before, changes))
    result.created.sort(key=lambda c: c.doc["depth"])
    return result
