"""Validating tag input into documents, collecting every problem at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from i18n import msg
from resolvers.errors import Problem, Problems, UserErrorCode
from resolvers.normalization import (
    category_key,
    default_color,
    name_key,
    normalize_category,
    normalize_color,
    normalize_description,
    normalize_metadata,
    normalize_name,
    normalize_slug,
    search_key,
)

Path = tuple[str, ...]


@dataclass(slots=True)
class Draft:
    """A valid new tag, before it has a place in the tree or an id."""

    path: Path
    name: str
    slug: str | None
    color: str
    description: str | None
    category: str | None
    metadata: dict[str, Any]
    parent_id: str | None
    exclusive: bool = False

    @property
    def name_key(self) -> str:
        return name_key(self.name)


def _flag(value: bool, *, path: Path) -> bool:
    """A Boolean input: GraphQL has checked its type; null on create means false."""
    return bool(value)


# The one set of rules for tag input, shared by create (CreateTagInput,
# TagDraft, tagNames) and update (UpdateTagInput); keyed by GraphQL field name.
_RULES: dict[str, Callable[..., Any]] = {
    "name": normalize_name,
    "slug": normalize_slug,
    "color": normalize_color,
    "description": normalize_description,
    "category": normalize_category,
    "metadata": normalize_metadata,
    "exclusive": _flag,
}
# Null for these means "not given" on create (generate or default it) and is
# refused on update, where leaving a field out is how a client keeps it.
_NOT_NULL = ("name", "slug", "color", "exclusive")


def read_fields(
    raw: Mapping[str, Any], path: Path, problems: Problems, *, update: bool = False
) -> dict[str, Any]:
    """Normalized values of the tag fields present in `raw`; failures go to `problems`.

    A field that failed is left out, so check `problems` before using the result.
    """
    given = [key for key in _RULES if key in raw]
    if update:
        # Reported before any field's own rule, in field order.
        for key in given:
            if raw[key] is None and key in _NOT_NULL:
                problems.add(
                    Problem(
                        UserErrorCode.VALIDATION,
                        msg("{field} cannot be null.", field=key),
                        (*path, key),
                    )
                )
    values: dict[str, Any] = {}
    for key in given:
        if raw[key] is None and key in _NOT_NULL:
            continue
        before = len(problems.found)
        value = problems.check(partial(_RULES[key], raw[key], path=(*path, key)))
        if len(problems.found) == before:
            values[key] = value
    return values


def read_draft(raw: Mapping[str, Any], path: Path, problems: Problems) -> Draft | None:
    """Normalize and validate one CreateTagInput/TagDraft; None when anything failed."""
    before = len(problems.found)
    values = read_fields(raw, path, problems)
    if len(problems.found) > before:
        return None
    name: str = values["name"]
    return Draft(
        path=path,
        name=name,
        slug=values.get("slug"),
        color=values.get("color") or default_color(name),
        description=values.get("description"),
        category=values.get("category"),
        metadata=values.get("metadata") or {},
        parent_id=raw.get("parentId"),
        exclusive=values.get("exclusive", False),
    )


def stored_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The document fields for validated tag field values, derived keys included."""
    stored = {k: v for k, v in values.items() if k not in ("name", "category")}
    if "name" in values:
        stored.update(text_fields(values["name"]))
    if "category" in values:
        stored.update(category_fields(values["category"]))
    return stored


def text_fields(name: str) -> dict[str, str]:
    """The stored keys derived from a name."""
    return {"name": name, "nameKey": name_key(name), "searchKey": search_key(name)}


def category_fields(category: str | None) -> dict[str, str | None]:
    return {"category": category, "categoryKey": category_key(category) if category else None}
