"""MongoDB's planning rules, applied to a shape (`violations`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.query_shapes.model import ID, MULTIKEY, Index, Shape, Sort
from storage.query_shapes.registry import INDEXES


def _serves(index: Index, equality: Iterable[str], ranges: Sequence[str], sort: Sort) -> list[str]:
    """Why `index` cannot serve this query by MongoDB's rules (empty when it can)."""
    problems: list[str] = []
    fields = index.fields
    eq = set(equality)
    # The leading keys bound by equality; an index may bind fewer than the filter has
    # (the rest is checked on the fetched documents), never a key the filter leaves open.
    prefix = 0
    while prefix < len(fields) and fields[prefix] in eq:
        prefix += 1
    if prefix == 0 and eq:
        problems.append(f"{index.index_name} does not start with an equality field")
    start = prefix
    if sort:
        # The sort may start inside the equality prefix: a key bound to one value
        # is sorted already, and one bound by an `$in` is read interval by
        # interval in key order (`_matches` allows an `$in` only on a sort key).
        start = next(
            (
                j
                for j in range(prefix, -1, -1)
                if [f for f, _ in index.keys[j : j + len(sort)]] == [f for f, _ in sort]
            ),
            prefix,
        )
        after = index.keys[start : start + len(sort)]
        if len(after) < len(sort) or [f for f, _ in after] != [f for f, _ in sort]:
            problems.append(f"{index.index_name} does not continue with the sort keys {sort}")
        else:
            same = all(d == s for (_, d), (_, s) in zip(after, sort, strict=True))
            reverse = all(d == -s for (_, d), (_, s) in zip(after, sort, strict=True))
            if not (same or reverse):
                problems.append(f"{index.index_name} mixes the sort's directions {sort}")
        multikey = MULTIKEY.intersection(f for f, _ in sort)
        if multikey:
            problems.append(f"a multikey field cannot provide a sort: {sorted(multikey)}")
    bounded = max(prefix, start + len(sort))
    for fld in ranges:
        if sort:
            # On the first sort key (a cursor) or after the sort keys (checked on the keys).
            fits = fld == sort[0][0] or fld in fields[bounded:]
        else:
            fits = prefix < len(fields) and fields[prefix] == fld
        if not fits:
            problems.append(f"range on {fld} is not after the equality and sort keys")
    return problems


def violations(shape: Shape) -> list[str]:
    """What keeps mongod from serving `shape` with an index and no blocking sort."""
    problems: list[str] = []
    declared = set(INDEXES) | set(ID.values())
    if shape.whole:
        if not shape.name.startswith(("repair.", "api_keys.")):
            problems.append("only repair passes and the key listing may read a whole collection")
        if shape.sort and (
            shape.index is None or shape.index.keys[: len(shape.sort)] != shape.sort
        ):
            problems.append("a whole-collection read in order needs an index in that order")
        return problems
    if shape.index is None and not shape.or_branches:
        return ["no index"]
    indexes = [shape.index] if shape.index is not None else []
    if shape.index is not None:
        problems += _serves(shape.index, shape.equality, shape.ranges, shape.sort)
    if shape.or_branches and shape.sort:
        problems.append("an $or with a sort needs a merge of sorted branches; not planned for")
    for fields, index in shape.or_branches:
        indexes.append(index)
        problems += _serves(index, {*shape.equality, *fields}, (), ())
    for index in indexes:
        if index not in declared:
            problems.append(f"{index.index_name} is not a declared index")
        if index.collection != shape.collection:
            problems.append(f"{index.index_name} is on {index.collection}")
    if shape.keyset and (not shape.sort or shape.sort[0][0] not in shape.ranges):
        problems.append("a page after a cursor bounds its first sort key")
    return problems
