"""Keyset (seek) pagination filters.

A page is one range query on an index: "strictly after these sort values".
Cursors carry the sort values of an item, not its position, so they stay valid
when items around them (or the item itself) are created or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Sort = Sequence[tuple[str, int]]


def reverse(sort: Sort) -> list[tuple[str, int]]:
    return [(field, -direction) for field, direction in sort]


def after(sort: Sort, values: Sequence[Any]) -> dict[str, Any]:
    """Filter matching the items strictly after `values` in `sort` order.

    Ties on the first key are broken in an `$or`; the redundant inclusive range
    on the first key beside it is what gives the index scan its bounds (an `$or`
    alone leaves mongod a scan from the start of the range, or a merge of one
    scan per branch).
    """
    branches: list[dict[str, Any]] = []
    for i, (field, direction) in enumerate(sort):
        branch = {sort[j][0]: values[j] for j in range(i)}
        branch[field] = {"$gt" if direction > 0 else "$lt": values[i]}
        branches.append(branch)
    if len(branches) == 1:
        return branches[0]
    first, direction = sort[0]
    return {first: {"$gte" if direction > 0 else "$lte": values[0]}, "$or": branches}


def before(sort: Sort, values: Sequence[Any]) -> dict[str, Any]:
    return after(reverse(sort), values)
