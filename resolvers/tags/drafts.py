"""Validating tag input into documents, collecting every problem at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from config.limits import MAX_ALIASES_PER_TAG
from i18n import N_, msg
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
from storage.tags import similar_keys

Path = tuple[str, ...]


def normalize_aliases(raw: Sequence[str] | None, *, path: Path) -> list[str]:
    """Aliases to store, in the order given; null (like `[]`) means none.

    Each is normalized and limited like a name. One repeating an earlier alias
    (without regard to case) is VALIDATION at its own position rather than
    silently dropped: what the client reads back is exactly what it sent. The
    unique index cannot see such a repeat, as both keys are in one document.
    """
    if raw is None:
        return []
    problems = Problems()
    if len(raw) > MAX_ALIASES_PER_TAG:
        problems.add(
            Problem(
                UserErrorCode.VALIDATION,
                msg("A tag can have at most {max} aliases.", max=MAX_ALIASES_PER_TAG),
                path,
            )
        )
    aliases: list[str] = []
    seen: set[str] = set()
    for j, text in enumerate(raw):
        at = (*path, str(j))
        alias = problems.check(partial(normalize_name, text, path=at))
        if alias is None:
            continue
        if name_key(alias) in seen:
            problems.add(Problem(UserErrorCode.VALIDATION, N_("This alias is given twice."), at))
            continue
        seen.add(name_key(alias))
        aliases.append(alias)
    problems.raise_any()
    return aliases


def check_own_names(name: str, aliases: Sequence[str], path: Path, problems: Problems) -> None:
    """An alias equal to the tag's own name (without regard to case) is VALIDATION."""
    key = name_key(name)
    for j, alias in enumerate(aliases):
        if name_key(alias) == key:
            problems.add(
                Problem(
                    UserErrorCode.VALIDATION,
                    N_("An alias must differ from the tag's name."),
                    (*path, "aliases", str(j)),
                )
            )


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
    aliases: list[str]
    exclusive: bool = False

    @property
    def name_key(self) -> str:
        return name_key(self.name)

    def name_keys(self) -> list[tuple[Path, str]]:
        """(field path, name key) of the name and of every alias."""
        return [
            ((*self.path, "name"), self.name_key),
            *(((*self.path, "aliases", str(j)), name_key(a)) for j, a in enumerate(self.aliases)),
        ]


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
    "aliases": normalize_aliases,
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
    aliases: list[str] = values.get("aliases") or []
    check_own_names(name, aliases, path, problems)
    if len(problems.found) > before:
        return None
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
        aliases=aliases,
    )


def stored_fields(
    values: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The document fields for validated tag field values, derived keys included.

    The name keys cover the name and the aliases together, so a change of
    either takes the other from `current` (the tag as it is) when not given.
    """
    stored = {k: v for k, v in values.items() if k not in ("name", "category", "aliases")}
    if "name" in values or "aliases" in values:
        current = current or {}
        name = values.get("name", current.get("name", ""))
        aliases = values.get("aliases", current.get("aliases") or [])
        stored.update(text_fields(name, aliases))
    if "category" in values:
        stored.update(category_fields(values["category"]))
    return stored


def text_fields(name: str, aliases: Sequence[str] = ()) -> dict[str, Any]:
    """The stored fields of a name and its aliases, with the keys derived from them."""
    names = [name, *aliases]
    search_keys = [search_key(n) for n in names]
    return {
        "name": name,
        "nameKey": name_key(name),
        "searchKey": search_keys[0],
        "aliases": list(aliases),
        "nameKeys": [name_key(n) for n in names],
        "searchKeys": search_keys,
        "similarKeys": similar_keys(search_keys),
    }


def category_fields(category: str | None) -> dict[str, str | None]:
    return {"category": category, "categoryKey": category_key(category) if category else None}
