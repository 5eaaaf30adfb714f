"""Errors raised by `storage/`: the driver's own exceptions never leave it."""

from __future__ import annotations


class StoreError(Exception):
    """The store failed in a way the caller cannot fix (unreachable, timed out...)."""


class DuplicateKey(Exception):
    """A unique index refused a write. `fields` names the index's key fields."""

    def __init__(self, fields: tuple[str, ...], index: int | None = None) -> None:
        super().__init__(f"duplicate key on {fields}")
        self.fields = fields
        # Position in an insert_many batch, when known.
        self.index = index


class PartialInsert(Exception):
    """An unordered insert_many wrote some documents; `duplicates` lists the refused ones."""

    def __init__(self, inserted: list[int], duplicates: list[DuplicateKey]) -> None:
        super().__init__(f"{len(duplicates)} duplicate(s)")
        self.inserted = inserted
        self.duplicates = duplicates
