"""exportTags: every tag of a workspace as one file.

One read, in the file's order (depth, then name without regard to case, then
id: the TAG_BY_DEPTH index), so a parent comes before its children; the file
is written in a worker thread. Archived tags are exported like any other (the
`archived` field says which); tags a delete or merge is removing are not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from resolvers.authorization import READ
from resolvers.context import Context
from resolvers.tags.io import csv_file, github_labels, json_file
from resolvers.tags.io.rows import TagFileFormat, file_tags
from storage import Doc

_WRITERS: dict[TagFileFormat, Callable[[Sequence[dict[str, Any]]], str]] = {
    TagFileFormat.JSON: json_file.write,
    TagFileFormat.CSV: csv_file.write,
    TagFileFormat.GITHUB_LABELS: github_labels.write,
}


def write_file(file_format: TagFileFormat, docs: Sequence[Doc]) -> str:
    return _WRITERS[file_format](file_tags(docs))


async def export_tags(
    ctx: Context,
    workspace_id: str,
    file_format: TagFileFormat,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[str, int]:
    """(the file's text, how many tags it holds); `progress` as for importing."""
    ws = ctx.principal.workspace(workspace_id, READ)
    if progress is not None:
        progress("reading", 0, 0)
    docs = await ctx.store.tags.in_depth_order(ws, live_only=True)
    content = await asyncio.to_thread(write_file, file_format, docs)
    if progress is not None:
        progress("writing", len(docs), len(docs))
    return content, len(docs)
