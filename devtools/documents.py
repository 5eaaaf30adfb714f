"""Tag documents written straight into the store, as createTag would store them.

The benches and the query-plan tests seed thousands of tags without paying one
mutation a tag; one builder keeps their documents in step with storage/tags.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def tag_document(
    name: str,
    *,
    ws: str,
    slug: str,
    usage: int,
    at: datetime,
    parent: Mapping[str, Any] | None = None,
    category: str | None = None,
    created_by: str = "bench",
    tag_id: str | None = None,
) -> dict[str, Any]:
    """A complete tag document (see storage/tags.py) with no aliases or metadata.

    `parent` is the parent's document (its path is derived from it); `updatedAt`
    is `at`, as for a tag never changed.
    """
    # Imported here, as the benches did, so that importing bench modules stays cheap.
    from resolvers.normalization import (
        category_key,
        default_color,
        name_key,
        new_tag_id,
        search_key,
    )
    from storage.tags import similar_keys

    ancestors = [*parent["ancestors"], parent["_id"]] if parent else []
    return {
        "_id": tag_id or new_tag_id(),
        "ws": ws,
        "name": name,
        "nameKey": name_key(name),
        "searchKey": search_key(name),
        "aliases": [],
        "nameKeys": [name_key(name)],
        "searchKeys": [search_key(name)],
        "similarKeys": similar_keys([search_key(name)]),
        "slug": slug,
        "color": default_color(name),
        "description": None,
        "category": category,
        "categoryKey": None if category is None else category_key(category),
        "metadata": {},
        "createdBy": created_by,
        "parentId": parent["_id"] if parent else None,
        "ancestors": ancestors,
        "depth": len(ancestors),
        "usage": usage,
        "usageByType": {},
        "createdAt": at,
        "updatedAt": at,
    }
