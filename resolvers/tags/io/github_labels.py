"""TagFileFormat.GITHUB_LABELS: repository labels as GitHub's REST API lists them.

    [{"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
      "url": "https://api.github.com/repos/octocat/Hello-World/labels/bug",
      "name": "bug", "description": "Something isn't working",
      "color": "f29513", "default": true}]

Only `name`, `color` and `description` are read; every other key is GitHub's
own and ignored. Export writes those three keys alone (description null when
the tag has none, as GitHub lists such labels).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from i18n import N_
from resolvers.errors import Problems
from resolvers.tags.io import json_file
from resolvers.tags.io.rows import (
    CONTENT,
    NOT_OBJECT,
    NOT_TEXT,
    Row,
    at_row,
    bad,
    is_empty,
    too_many_tags,
)

KEYS = ("name", "color", "description")


def read(content: str, problems: Problems, limit: int) -> list[Row]:
    value = json_file.parse(content, problems)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(bad((CONTENT,), N_("The file must be a JSON array of labels.")))
        return []
    if len(value) > limit:
        problems.add(too_many_tags(limit))
        return []
    rows: list[Row] = []
    for i, item in enumerate(value):
        n = i + 1
        if not isinstance(item, dict):
            problems.add(bad(at_row(n), NOT_OBJECT))
            continue
        row = Row(n)
        fine = True
        for key in KEYS:
            given = item.get(key)
            if given is None:
                continue
            if not isinstance(given, str):
                problems.add(bad(at_row(n, key), NOT_TEXT))
                fine = False
            elif not is_empty(given):
                row.fields[key] = given
        if fine:
            rows.append(row)
    return rows


def write(tags: Sequence[dict[str, Any]]) -> str:
    labels = [{key: tag[key] for key in KEYS} for tag in tags]
    lines = [json.dumps(label, ensure_ascii=False, separators=(",", ":")) for label in labels]
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"
