"""TagFileFormat.JSON: `{"version": 1, "tags": [...]}`, every field of every tag.

Written compactly, one tag per line (a 10 000-tag workspace stays near 1.5 MB
and diffs line by line). Read strictly: a key the format does not have, a key
given twice, a value of the wrong type, NaN or an integer too long to read is
VALIDATION, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from i18n import N_, msg
from resolvers.errors import Problems
from resolvers.tags.io.rows import (
    CONTENT,
    FIELDS,
    NOT_BOOLEAN,
    NOT_OBJECT,
    NOT_TEXT,
    NOT_TEXT_LIST,
    Row,
    at_row,
    bad,
    is_empty,
    too_many_tags,
)

VERSION = 1
TEXT_FIELDS = frozenset({"name", "slug", "color", "description", "category", "parent"})
FLAG_FIELDS = frozenset({"exclusive", "archived"})


class _Repeated(ValueError):
    """A key given twice in one object."""


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Repeated
    return found


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def parse(content: str, problems: Problems) -> Any:
    """The file's JSON value; None (with a problem) when it is not JSON."""
    try:
        return json.loads(content, object_pairs_hook=_no_repeats, parse_constant=_no_constants)
    except _Repeated:
        problems.add(bad((CONTENT,), N_("A key is given twice in one JSON object.")))
    except json.JSONDecodeError as error:
        message = msg(
            "The file is not valid JSON (line {line}, column {column}).",
            line=error.lineno,
            column=error.colno,
        )
        problems.add(bad((CONTENT,), message))
    except (ValueError, RecursionError):
        # NaN or Infinity, an integer of thousands of digits, nesting deeper than
        # the parser goes: JSON this service cannot store either way.
        problems.add(bad((CONTENT,), N_("The file is not valid JSON.")))
    return None


def _field_problem(key: str, value: Any) -> str | None:
    if key in TEXT_FIELDS and not isinstance(value, str):
        return NOT_TEXT
    if key in FLAG_FIELDS and not isinstance(value, bool):
        return NOT_BOOLEAN
    if key == "aliases" and not (
        isinstance(value, list) and all(isinstance(a, str) for a in value)
    ):
        return NOT_TEXT_LIST
    return None


def read_tag(n: int, item: Any, problems: Problems) -> Row | None:
    """One tag object of the file; None (with problems) when it cannot be read."""
    if not isinstance(item, dict):
        problems.add(bad(at_row(n), NOT_OBJECT))
        return None
    row = Row(n)
    fine = True
    for key, value in item.items():
        if key not in FIELDS:
            problems.add(
                bad(at_row(n), msg("A tag has only these fields: {fields}.", fields=_FIELD_LIST))
            )
            fine = False
            continue
        if value is None:
            continue
        problem = _field_problem(key, value)
        if problem is not None:
            problems.add(bad(at_row(n, key), problem))
            fine = False
        elif not is_empty(value):
            row.fields[key] = value
    return row if fine else None


_FIELD_LIST = ", ".join(FIELDS)


def read(content: str, problems: Problems, limit: int) -> list[Row]:
    """The tags of a JSON file, at most `limit` (more is LIMIT_EXCEEDED)."""
    value = parse(content, problems)
    if value is None:
        return []
    if not (isinstance(value, dict) and isinstance(value.get("tags"), list)):
        problems.add(bad((CONTENT,), N_('The file must be a JSON object with a "tags" list.')))
        return []
    if value.get("version") != VERSION or set(value) - {"version", "tags"}:
        problems.add(
            bad((CONTENT,), N_('The file must have "version": 1 and "tags", and nothing else.'))
        )
        return []
    items: list[Any] = value["tags"]
    if len(items) > limit:
        problems.add(too_many_tags(limit))
        return []
    rows = [read_tag(i + 1, item, problems) for i, item in enumerate(items)]
    return [r for r in rows if r is not None]


def write(tags: Sequence[dict[str, Any]]) -> str:
    lines = [json.dumps(t, ensure_ascii=False, separators=(",", ":")) for t in tags]
    body = ",\n".join(lines)
    return (
        f'{{"version":{VERSION},"tags":[\n{body}\n]}}\n'
        if lines
        else (f'{{"version":{VERSION},"tags":[]}}\n')
    )
