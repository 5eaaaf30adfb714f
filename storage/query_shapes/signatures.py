"""What a command sent looks like (`signatures_of`), and the shape it belongs to (`match`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.query_shapes.model import _RANGE_OPS, Key, Shape, Sort
from storage.query_shapes.registry import SHAPES
from storage.unique_claims import RESEAT_COMMENT


@dataclass
class Signature:
    """A sent filter, reduced to what a planner uses."""

    collection: str
    command: str
    # field -> the largest number of values bound by equality ($in of n counts n).
    equality: dict[str, int] = field(default_factory=dict)
    ranges: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)
    ors: list[list[set[str]]] = field(default_factory=list)
    sort: tuple[Key, ...] = ()

    def fields(self) -> set[str]:
        return {*self.equality, *self.ranges, *self.other}


def _is_operator_doc(value: Any) -> bool:
    return isinstance(value, Mapping) and any(str(k).startswith("$") for k in value)


def _add_condition(sig: Signature, name: str, value: Any) -> None:
    if not _is_operator_doc(value):
        sig.equality[name] = max(sig.equality.get(name, 0), 1)
        return
    for op, arg in value.items():
        if op == "$in":
            sig.equality[name] = max(sig.equality.get(name, 0), len(arg))
        elif op == "$eq":
            sig.equality[name] = max(sig.equality.get(name, 0), 1)
        elif op in _RANGE_OPS or (op == "$regex" and str(arg).startswith("^")):
            # An anchored regex is a range on the index; any other is checked per key.
            sig.ranges.add(name)
        else:
            sig.other.add(name)


def _add_filter(sig: Signature, query: Mapping[str, Any]) -> None:
    for key, value in query.items():
        if key == "$and":
            for part in value:
                _add_filter(sig, part)
        elif key == "$or":
            branches = []
            for branch in value:
                inner = Signature(sig.collection, sig.command)
                _add_filter(inner, branch)
                branches.append(inner.fields())
            sig.ors.append(branches)
        else:
            _add_condition(sig, key, value)


def signature(
    collection: str, command: str, query: Mapping[str, Any] | None, sort: Sort | None = None
) -> Signature:
    sig = Signature(collection, command, sort=tuple((f, int(d)) for f, d in (sort or ())))
    _add_filter(sig, query or {})
    return sig


def signatures_of(command_name: str, command: Mapping[str, Any]) -> list[Signature]:
    """The query shapes in one command as the driver sent it (none for inserts and the like)."""
    if command.get("comment") == RESEAT_COMMENT:
        return []
    if command_name == "find":
        return [signature(command["find"], "find", command.get("filter"), _sort(command))]
    if command_name == "findAndModify":
        return [
            signature(
                command["findAndModify"], "findAndModify", command.get("query"), _sort(command)
            )
        ]
    if command_name == "update":
        return [signature(command["update"], "update", u["q"]) for u in command["updates"]]
    if command_name == "delete":
        return [signature(command["delete"], "delete", d["q"]) for d in command["deletes"]]
    if command_name == "count":
        return [signature(command["count"], "count", command.get("query"))]
    if command_name == "aggregate":
        pipeline = list(command["pipeline"])
        if pipeline and "$changeStream" in pipeline[0]:
            return []
        collection = command["aggregate"]
        return _pipeline_signatures(collection, pipeline)
    return []


def _pipeline_signatures(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Signature]:
    """The shape of a pipeline's head, and of each `$unionWith` branch it reads."""
    found = _head_signature(collection, pipeline)
    for stage in pipeline:
        union = stage.get("$unionWith")
        if isinstance(union, Mapping):
            found += _pipeline_signatures(union.get("coll", collection), union["pipeline"])
    return found


def _head_signature(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Signature]:
    head = pipeline[0] if pipeline else {}
    if "$match" in head:
        rest = pipeline[1:]
        kind = "count" if rest and _is_count_group(rest[0]) and len(rest) == 1 else "aggregate"
        sort = rest[0]["$sort"] if rest and "$sort" in rest[0] else None
        return [signature(collection, kind, head["$match"], _pairs(sort))]
    if "$sort" in head:
        return [signature(collection, "aggregate", {}, _pairs(head["$sort"]))]
    return [signature(collection, "aggregate", {})]


def _is_count_group(stage: Mapping[str, Any]) -> bool:
    # What count_documents sends after its $match.
    group = stage.get("$group")
    return isinstance(group, Mapping) and group.get("_id") == 1 and set(group) == {"_id", "n"}


def _pairs(sort: Mapping[str, Any] | None) -> list[Key] | None:
    return None if sort is None else [(f, int(d)) for f, d in sort.items()]


def _sort(command: Mapping[str, Any]) -> list[Key] | None:
    return _pairs(command.get("sort"))


def _reverse(sort: Sort) -> tuple[Key, ...]:
    return tuple((f, -d) for f, d in sort)


def _matches(shape: Shape, sig: Signature) -> bool:
    if shape.collection != sig.collection or shape.command != sig.command:
        return False
    if sig.sort not in (shape.sort, _reverse(shape.sort)):
        return False
    if any(sig.equality.get(f, 0) == 0 for f in shape.equality):
        return False
    if any(f not in sig.ranges for f in shape.ranges):
        return False
    if shape.sort and any(
        sig.equality[f] > 1 and f not in {k for k, _ in shape.sort} for f in shape.equality
    ):
        # A sort after an $in of several values is a merge of many scans at best;
        # an $in on a sort key is read in that key's order.
        return False
    sort_fields = {f for f, _ in shape.sort}
    if shape.keyset:
        if shape.sort[0][0] not in sig.ranges:
            return False
    elif shape.sort and sort_fields & sig.ranges:
        return False
    allowed = {*shape.equality, *shape.ranges, *shape.residual}
    if not sig.fields() <= allowed:
        return False
    declared = sorted(sorted(f) for f, _ in shape.or_branches)
    for branches in sig.ors:
        keyset_or = shape.keyset and all(b <= sort_fields for b in branches)
        if not keyset_or and sorted(sorted(b) for b in branches) != declared:
            return False
    if shape.or_branches and not sig.ors:
        return False
    # A cursor over several sort keys breaks first-key ties in an $or.
    return not (shape.keyset and len(shape.sort) > 1 and not sig.ors)


def match(sig: Signature) -> Shape | None:
    """The most specific listed shape the sent query belongs to, if any."""
    found = [s for s in SHAPES if _matches(s, sig)]
    if not found:
        return None
    # An exact sort beats a reversed one: a descending page is the descending shape.
    return max(found, key=lambda s: (len(s.equality), len(s.ranges), s.sort == sig.sort))


def describe(sig: Signature) -> str:
    return (
        f"{sig.collection}.{sig.command} eq={sorted(sig.equality)} ranges={sorted(sig.ranges)} "
        f"other={sorted(sig.other)} or={sig.ors} sort={list(sig.sort)}"
    )
