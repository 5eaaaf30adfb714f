"""The locks collection (tree locks): every shape of its queries."""

from __future__ import annotations

from storage.query_shapes.model import ID, LOCKS, Shape

SHAPES: tuple[Shape, ...] = (
    Shape(
        "locks.take",
        LOCKS,
        "findAndModify",
        ID[LOCKS],
        equality=("_id",),
        residual=frozenset({"until"}),
        note="take a workspace's tree lock whose lease has ended (upserted)",
    ),
    Shape(
        "locks.by_holder",
        LOCKS,
        "update",
        ID[LOCKS],
        equality=("_id",),
        residual=frozenset({"holder"}),
        note="renew or release the lock its holder holds",
    ),
)
