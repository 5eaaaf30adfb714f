"""exportTags (1.2): every tag, in depth then name order, in each format, in one read."""

from __future__ import annotations

import csv
import io
import json

from storage import AuthorizedWorkspace, Store
from tests.harness import Executor
from tests.helpers import OTHER_WS, WS, create_tag

EXPORT = """
query Export($ws: ID!, $format: TagFileFormat!) {
  exportTags(workspaceId: $ws, format: $format) { format content tagCount }
}
"""
DEFAULT = "query($ws: ID!) { exportTags(workspaceId: $ws) { format tagCount } }"


async def test_every_tag_by_depth_then_name_in_one_read(gql: Executor, store: Store) -> None:
    zulu = await create_tag(gql, "zulu")
    alpha = await create_tag(gql, "Alpha")
    await create_tag(gql, "beta", parentId=zulu["id"])
    await create_tag(gql, "Able", parentId=alpha["id"])
    await create_tag(gql, "Elsewhere", OTHER_WS)
    doomed = await create_tag(gql, "Doomed")
    # A tag a delete is removing is on its way out: not exported.
    await store.tags.mark_deleting(AuthorizedWorkspace(WS), [doomed["id"]])
    result = await gql(EXPORT, {"ws": WS, "format": "JSON"})
    file = result.ok()["exportTags"]
    assert result.round_trips == 1
    assert file["format"] == "JSON" and file["tagCount"] == 4
    tags = json.loads(file["content"])["tags"]
    assert [(t["name"], t["parent"]) for t in tags] == [
        ("Alpha", None),
        ("zulu", None),
        ("Able", "alpha"),
        ("beta", "zulu"),
    ]
    assert list(tags[0]) == [
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
    ]
    assert (await gql(DEFAULT, {"ws": WS})).ok()["exportTags"]["format"] == "JSON"


async def test_csv_neutralizes_formula_cells(gql: Executor) -> None:
    await create_tag(gql, "=cmd|' /C calc'!A0", description="@SUM(1+1)", aliases=["+x", "ok"])
    await create_tag(gql, "-2 Minus", category="=1")
    content = (await gql(EXPORT, {"ws": WS, "format": "CSV"})).ok()["exportTags"]["content"]
    records = list(csv.reader(io.StringIO(content, newline="")))
    for record in records[1:]:
        for cell in record:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), record
    assert records[1][0] == "'-2 Minus" and records[2][0] == "'=cmd|' /C calc'!A0"
    assert records[2][3] == "'@SUM(1+1)" and records[2][6] == "'+x|ok"


async def test_an_empty_workspace_is_an_empty_file(gql: Executor) -> None:
    for file_format, empty in (("JSON", {"version": 1, "tags": []}), ("GITHUB_LABELS", [])):
        content = (await gql(EXPORT, {"ws": WS, "format": file_format})).ok()["exportTags"]
        assert json.loads(content["content"]) == empty and content["tagCount"] == 0
    csv_file = (await gql(EXPORT, {"ws": WS, "format": "CSV"})).ok()["exportTags"]["content"]
    assert csv_file == "name,slug,color,description,category,parent,aliases,exclusive,archived\r\n"
