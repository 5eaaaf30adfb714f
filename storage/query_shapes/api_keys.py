"""The api_keys collection: its index and every shape of its queries."""

from __future__ import annotations

from storage.query_shapes.model import API_KEYS, ID, Shape, _ix

API_KEY_BY_CREATED = _ix(API_KEYS, "createdAt")

SHAPES: tuple[Shape, ...] = (
    Shape("api_keys.by_id", API_KEYS, "find", ID[API_KEYS], equality=("_id",)),
    Shape(
        "api_keys.revoke",
        API_KEYS,
        "update",
        ID[API_KEYS],
        equality=("_id",),
        residual=frozenset({"revokedAt"}),
    ),
    Shape(
        "api_keys.all",
        API_KEYS,
        "find",
        API_KEY_BY_CREATED,
        sort=(("createdAt", 1),),
        whole="lists every key, in index order",
    ),
)
