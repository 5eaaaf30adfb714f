"""What the three file formats share: the enums, a row of a file, a tag as a file shows it.

A format's reader turns the file's text into `Row`s: the row's number (1 for
the file's first tag) and the fields it gives, by their file names (`FIELDS`),
as the file has them (texts, booleans, a metadata object, a list of aliases).
A field the row leaves empty (absent, null, `""`, `[]`, `{}`) is not in
`fields` at all: the planner then keeps the tag's value (MERGE) or takes the
default (a new tag). A reader reports what it cannot read as problems at
`["content", N, field]` (`["content", N]` for the row, `["content"]` for the
file) and leaves those rows out.

A format's writer takes `FileTag`s: every field by its file name, colors as 6
lowercase hex digits, the parent as its slug.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from i18n import N_, msg
from resolvers.errors import Problem, UserErrorCode
from storage.tags import ARCHIVED, ARCHIVED_AT, is_archived

CONTENT = "content"

# Every field a file can carry, in the order the contract lists them for JSON.
FIELDS: tuple[str, ...] = (
    "name",
    "slug",
    "color",
    "description",
    "category",
    "metadata",
    "aliases",
    "exclusive",
    "archived",
    "parent",
)


class TagFileFormat(enum.Enum):
    JSON = "JSON"
    CSV = "CSV"
    GITHUB_LABELS = "GITHUB_LABELS"


class ImportMode(enum.Enum):
    MERGE = "MERGE"
    CREATE_ONLY = "CREATE_ONLY"


@dataclass(slots=True)
class Row:
    """One tag of a file as read: `n` counts from 1; `fields` holds what the row gives."""

    n: int
    fields: dict[str, Any] = field(default_factory=dict)

    def path(self, *more: str) -> tuple[str, ...]:
        return (CONTENT, str(self.n), *more)


def at_row(n: int, *more: str) -> tuple[str, ...]:
    return (CONTENT, str(n), *more)


def bad(path: tuple[str, ...], message: str) -> Problem:
    return Problem(UserErrorCode.VALIDATION, message, path)


def is_empty(value: Any) -> bool:
    """A value a row leaves empty: the tag keeps what it has (see the module doc)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


# Messages shared by the readers.
NOT_TEXT = N_("This value must be text.")
NOT_BOOLEAN = N_("This value must be true or false.")
NOT_TEXT_LIST = N_("This value must be a list of texts.")
NOT_OBJECT = N_("Each tag must be an object.")


def too_many_tags(limit: int) -> Problem:
    return Problem(
        UserErrorCode.LIMIT_EXCEEDED,
        msg("A file can hold at most {max} tags.", max=limit),
        (CONTENT,),
    )


# The archived column -----------------------------------------------------------
# A tag is archived while its document has `archived: true` (storage/tags.py);
# "not archived" is the equality `archived: null`, which an absent field and a
# null both match, and `false` would not: a restore by import writes nulls.


def archived_fields(archived: bool, at: datetime) -> dict[str, Any]:
    """The document fields that make a tag archived (or not) as of `at`."""
    if archived:
        return {ARCHIVED: True, ARCHIVED_AT: at}
    return {ARCHIVED: None, ARCHIVED_AT: None}


# A tag as a file shows it ------------------------------------------------------


def file_color(color: str) -> str:
    """`#1a2b3c` as the files write it: 6 lowercase hex digits."""
    return color.removeprefix("#").lower()


def file_tag(doc: Mapping[str, Any], slug_of: Mapping[str, str]) -> dict[str, Any]:
    """Every file field of a stored tag; `slug_of` gives the parent's slug by its id."""
    parent = doc.get("parentId")
    return {
        "name": doc["name"],
        "slug": doc["slug"],
        "color": file_color(doc["color"]),
        "description": doc.get("description"),
        "category": doc.get("category"),
        "metadata": doc.get("metadata") or {},
        "aliases": list(doc.get("aliases") or []),
        "exclusive": bool(doc.get("exclusive", False)),
        "archived": is_archived(doc),
        "parent": slug_of.get(parent) if parent else None,
    }


def file_tags(docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`file_tag` of each document, in the order given; parents are looked up among them."""
    slug_of = {d["_id"]: d["slug"] for d in docs}
    return [file_tag(d, slug_of) for d in docs]
