"""Tag documents written straight into the store, as createTag would store them.

The benches seed thousands of tags without paying one mutation a tag; one builder keeps
their documents in step with storage/tags.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def tag_document(name: str, *, ws: str, slug: str, usage: int, at: datetime) -> dict[str, Any]:
    """A complete root tag document (see storage/tags.py) with no aliases or metadata."""
    # Imported here, as the benches did, so that importing bench modules stays cheap.
    from resolvers.normalization import default_color, name_key, new_tag_id, search_key

    return {
        "_id": new_tag_id(),
        "ws": ws,
        "name": name,
        "nameKey": name_key(name),
        "searchKey": search_key(name),
        "aliases": [],
        "nameKeys": [name_key(name)],
        "searchKeys": [search_key(name)],
        "slug": slug,
        "color": default_color(name),
        "description": None,
        "category": None,
        "categoryKey": None,
        "metadata": {},
        "createdBy": "bench",
        "parentId": None,
        "ancestors": [],
        "depth": 0,
        "usage": usage,
        "usageByType": {},
        "createdAt": at,
        "updatedAt": at,
    }
