"""Validating tag input into documents, collecting every problem at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from resolvers.errors import Problem, UserFailure
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

T = TypeVar("T")

Path = tuple[str, ...]


class Problems:
    """Runs validators, keeping every failure instead of stopping at the first."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def check(self, validate: Callable[[], T]) -> T | None:
        try:
            return validate()
        except UserFailure as failure:
            self.found.extend(failure.problems)
            return None

    def add(self, problem: Problem) -> None:
        self.found.append(problem)

    def raise_any(self) -> None:
        if self.found:
            raise UserFailure(self.found)


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

    @property
    def name_key(self) -> str:
        return name_key(self.name)


def read_draft(raw: Mapping[str, Any], path: Path, problems: Problems) -> Draft | None:
    """Normalize and validate one CreateTagInput/TagDraft; None when anything failed."""
    before = len(problems.found)
    name = problems.check(lambda: normalize_name(raw["name"], path=(*path, "name")))
    slug = raw.get("slug")
    if slug is not None:
        slug = problems.check(lambda: normalize_slug(raw["slug"], path=(*path, "slug")))
    color = raw.get("color")
    if color is not None:
        color = problems.check(lambda: normalize_color(raw["color"], path=(*path, "color")))
    description = problems.check(
        lambda: normalize_description(raw.get("description"), path=(*path, "description"))
    )
    category = problems.check(
        lambda: normalize_category(raw.get("category"), path=(*path, "category"))
    )
    metadata = problems.check(
        lambda: normalize_metadata(raw.get("metadata"), path=(*path, "metadata"))
    )
    if len(problems.found) > before or name is None:
        return None
    return Draft(
        path=path,
        name=name,
        slug=slug,
        color=color or default_color(name),
        description=description,
        category=category,
        metadata=metadata or {},
        parent_id=raw.get("parentId"),
    )


def text_fields(name: str) -> dict[str, str]:
    """The stored keys derived from a name."""
    return {"name": name, "nameKey": name_key(name), "searchKey": search_key(name)}


def category_fields(category: str | None) -> dict[str, str | None]:
    return {"category": category, "categoryKey": category_key(category) if category else None}
