"""(1.2) How the archived state is stored: present only while archived (storage/tags.py)."""

from __future__ import annotations

from datetime import datetime

from resolvers.normalization import new_tag_id
from storage import AuthorizedWorkspace, Store
from storage.tags import TagQuery
from tests.helpers import WS


async def test_a_tag_stored_with_archived_false_is_listed_as_not_archived(store: Store) -> None:
    """Whatever builds a new tag document, `false` is stored as the field's absence."""
    ws = AuthorizedWorkspace(WS)
    at = datetime(2030, 1, 1)
    doc = {
        "_id": new_tag_id(),
        "ws": WS,
        "name": "Plain",
        "nameKey": "plain",
        "nameKeys": ["plain"],
        "searchKey": "plain",
        "searchKeys": ["plain"],
        "slug": "plain",
        "archived": False,
        "archivedAt": None,
        "createdAt": at,
        "updatedAt": at,
    }
    await store.tags.insert_many([dict(doc, _id=new_tag_id(), slug="other", nameKeys=["x"])])
    await store.tags.insert(doc)
    assert await store.tags.count(ws, TagQuery()) == 2
    assert await store.tags.count(ws, TagQuery(archived=True)) == 0
