"""Errors raised by `storage/`: the driver's own exceptions never leave it.

A failed store call is one of two things, and callers must be able to tell
them apart: the store could not be reached in time (`StoreUnavailable`: an
outage, worth retrying, what readiness reports), or the server answered and
refused the command (`StoreRefused`: a bug or a misconfiguration, an internal
error whose cause belongs in the log). Both are `StoreError`s, so code that
only needs to know that a step did not happen catches the base class.
"""

from __future__ import annotations


class StoreError(Exception):
    """A store call failed; nothing is known about whether it took effect."""


class StoreUnavailable(StoreError):
    """The store did not answer: unreachable, stepping down, or timed out."""


class StoreRefused(StoreError):
    """The server answered and refused the command. `code` is the server's error code."""

    def __init__(self, kind: str, code: int | None, message: str) -> None:
        super().__init__(f"{kind} (code {code}): {message}")
        self.code = code


class DuplicateKey(Exception):
    """A unique index refused a write. `fields` names the index's key fields."""

    def __init__(self, fields: tuple[str, ...], index: int | None = None) -> None:
        super().__init__(f"duplicate key on {fields}")
        self.fields = fields
        # Position in an insert_many batch, when known.
        self.index = index


class PartialInsert(Exception):
    """A unique index refused some documents of an insert_many.

    `inserted` lists the positions written: for an unordered insert every
    position not refused, for an ordered one only those before the first refusal
    (it stops there). `duplicates` lists the refused ones.
    """

    def __init__(self, inserted: list[int], duplicates: list[DuplicateKey]) -> None:
        super().__init__(f"{len(duplicates)} duplicate(s)")
        self.inserted = inserted
        self.duplicates = duplicates
