"""API keys: only the SHA-256 hash of a key is stored, never the key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.collection import Collection, Doc
from storage.query_shapes import API_KEYS, indexes_of


class ApiKeyStore:
    def __init__(self, keys: Collection) -> None:
        self._keys = keys

    async def ensure_indexes(self) -> None:
        for index in indexes_of(API_KEYS):
            await self._keys.ensure_index(index)

    async def insert(
        self,
        key_id: str,
        name: str,
        key_hash: str,
        scopes: Sequence[str],
        workspaces: Sequence[str],
        created_at: datetime,
    ) -> None:
        await self._keys.insert_one(
            {
                "_id": key_id,
                "name": name,
                "hash": key_hash,
                "scopes": list(scopes),
                "workspaces": list(workspaces),
                "createdAt": created_at,
                "revokedAt": None,
            }
        )

    async def get(self, key_id: str) -> Doc | None:
        return await self._keys.find_one({"_id": key_id})

    async def all(self) -> list[Doc]:
        return await self._keys.find({}, projection={"hash": 0}, sort=[("createdAt", 1)])

    async def revoke(self, key_id: str, at: datetime) -> bool:
        matched = await self._keys.update_one(
            {"_id": key_id, "revokedAt": None}, {"$set": {"revokedAt": at}}
        )
        return matched > 0
