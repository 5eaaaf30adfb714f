"""importTags (1.2): all or nothing, MERGE and CREATE_ONLY, dryRun, parents by slug in
any order, re-import changes nothing, errors at ["content", N, field], bounded round trips,
and an import cut short by the store is taken back whole."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from config.limits import MAX_IMPORT_TAGS
from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from resolvers.tags.io import importing
from resolvers.tags.io.importing import HISTORY_BATCH, UPDATE_BATCH, WRITE_BATCH
from resolvers.tags.io.rows import TagFileFormat
from storage import AuthorizedWorkspace, Store
from storage.repair import repair
from storage.tags import TagStore
from tests.harness import Executor
from tests.helpers import WS, create_tag

IMPORT = """
mutation Import($input: ImportTagsInput!) {
  importTags(input: $input) {
    created updated unchanged
    tags { id name slug color description category metadata aliases exclusive parent { slug } }
    userErrors { code field message }
  }
}
"""
EXPORT = """
query Export($ws: ID!, $format: TagFileFormat!) {
  exportTags(workspaceId: $ws, format: $format) { format content tagCount }
}
"""
TREE = """
query Tree($ws: ID!) {
  tags(workspaceId: $ws, first: 100) {
    totalCount
    nodes { name slug color description category metadata aliases exclusive depth
            parent { slug } ancestors { slug } createdBy }
  }
}
"""
# A real repository's labels, as GET /repos/{owner}/{repo}/labels lists them.
GITHUB_FILE = """[
  {"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
   "url": "https://api.github.com/repos/octocat/Hello-World/labels/bug",
   "name": "bug", "color": "f29513", "default": true, "description": "Something isn't working"},
  {"id": 208045947, "node_id": "MDU6TGFiZWwyMDgwNDU5NDc=",
   "url": "https://api.github.com/repos/octocat/Hello-World/labels/enhancement",
   "name": "enhancement", "color": "A2EEEF", "default": true, "description": "New feature or request"},
  {"id": 208045948, "node_id": "MDU6TGFiZWwyMDgwNDU5NDg=",
   "url": "https://api.github.com/repos/octocat/Hello-World/labels/good%20first%20issue",
   "name": "good first issue", "color": "7057ff", "default": true, "description": null}
]"""


async def run_import(gql: Executor, content: str, file_format: str = "JSON", **more: Any) -> Any:
    variables = {"input": {"workspaceId": WS, "format": file_format, "content": content, **more}}
    result = await gql(IMPORT, variables)
    return result.ok()["importTags"], result.round_trips


async def imported(gql: Executor, content: str, file_format: str = "JSON", **more: Any) -> Any:
    payload, _ = await run_import(gql, content, file_format, **more)
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


async def export(gql: Executor, file_format: str = "JSON", ws: str = WS) -> str:
    result = await gql(EXPORT, {"ws": ws, "format": file_format})
    return str(result.ok()["exportTags"]["content"])


async def tree(gql: Executor, ws: str = WS) -> list[dict[str, Any]]:
    nodes = (await gql(TREE, {"ws": ws})).ok()["tags"]["nodes"]
    for node in nodes:
        node.pop("createdBy")
    return list(nodes)


async def raw(store: Store) -> list[dict[str, Any]]:
    docs = await store.database.tags._c.find({}).to_list(None)
    return sorted(docs, key=lambda d: d["_id"])


def json_file(*tags: dict[str, Any]) -> str:
    return json.dumps({"version": 1, "tags": list(tags)})


async def seed(gql: Executor, ws: str = WS) -> None:
    product = await create_tag(
        gql, "Product", ws, color="#1e88e5", category="topic", aliases=["Prod", "Produkt"]
    )
    web = await create_tag(gql, "Web", ws, parentId=product["id"], metadata={"team": ["a", 1]})
    await create_tag(gql, "Checkout", ws, parentId=web["id"], description="Pay\nnow")
    await create_tag(gql, "Priority", ws, exclusive=True)
    await create_tag(gql, '=HYPERLINK("x")', ws, description="+1 -1 @me")


# Round trips of files -------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["JSON", "CSV"])
async def test_an_export_imported_into_an_empty_workspace_gives_the_same_tags(
    gql: Executor, file_format: str
) -> None:
    await seed(gql, "source")
    content = await export(gql, file_format, ws="source")
    payload = await imported(gql, content, file_format)
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (5, 0, 0)
    want = await tree(gql, "source")
    if file_format == "CSV":  # CSV has no metadata column
        for tag in want:
            tag["metadata"] = {}
    assert await tree(gql) == want
    # And it exports to the very same file.
    if file_format == "JSON":
        assert await export(gql, "JSON") == content


async def test_re_importing_the_same_file_changes_nothing(gql: Executor, store: Store) -> None:
    await seed(gql)
    for file_format in ("JSON", "CSV", "GITHUB_LABELS"):
        content = await export(gql, file_format)
        before = await raw(store)
        payload = await imported(gql, content, file_format)
        assert (payload["created"], payload["updated"], payload["unchanged"]) == (0, 0, 5)
        assert payload["tags"] == []
        assert await raw(store) == before


async def test_parents_by_slug_in_any_row_order(gql: Executor) -> None:
    content = json_file(
        {"name": "Leaf", "parent": "middle"},
        {"name": "Middle", "slug": "middle", "parent": "root"},
        {"name": "Root", "slug": "root"},
    )
    payload = await imported(gql, content)
    assert payload["created"] == 3
    by_name = {t["name"]: t for t in await tree(gql)}
    assert [a["slug"] for a in by_name["Leaf"]["ancestors"]] == ["root", "middle"]
    assert by_name["Leaf"]["depth"] == 2
    # The created tags come back in the order they were written: parents first.
    assert [t["name"] for t in payload["tags"]] == ["Root", "Middle", "Leaf"]


async def test_a_parent_may_be_a_tag_of_the_workspace(gql: Executor) -> None:
    await create_tag(gql, "Existing")
    await imported(gql, "name,parent\r\nBelow,existing\r\n", "CSV")
    below = next(t for t in await tree(gql) if t["name"] == "Below")
    assert below["parent"] == {"slug": "existing"}


async def test_github_labels_as_the_rest_api_lists_them(gql: Executor) -> None:
    payload = await imported(gql, GITHUB_FILE, "GITHUB_LABELS")
    assert payload["created"] == 3
    tags = {t["name"]: t for t in await tree(gql)}
    assert tags["bug"]["color"] == "#f29513"
    assert tags["enhancement"]["color"] == "#a2eeef"
    assert tags["enhancement"]["description"] == "New feature or request"
    assert tags["good first issue"]["slug"] == "good-first-issue"
    exported = json.loads(await export(gql, "GITHUB_LABELS"))
    assert exported[0] == {
        "name": "bug",
        "color": "f29513",
        "description": "Something isn't working",
    }
    assert all(set(label) == {"name", "color", "description"} for label in exported)
    assert exported[2]["description"] is None


# MERGE, CREATE_ONLY, dryRun ----------------------------------------------------------------


async def test_merge_updates_the_matching_tag_and_keeps_what_the_row_leaves_empty(
    gql: Executor,
) -> None:
    await create_tag(gql, "Bug", color="#e53935", description="Broken", category="type")
    await create_tag(gql, "Area", aliases=["Zone"])
    content = (
        "name,color,description,category,aliases,exclusive\r\n"
        "bug,00ff00,,,Defect|Fault,\r\n"
        "zone,,Where,,,true\r\n"
    )
    payload = await imported(gql, content, "CSV")
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (0, 2, 0)
    tags = {t["name"]: t for t in await tree(gql)}
    # Matched by name (another case): renamed to the row's spelling; empty cells kept.
    assert tags["bug"]["color"] == "#00ff00"
    assert tags["bug"]["description"] == "Broken" and tags["bug"]["category"] == "type"
    assert tags["bug"]["aliases"] == ["Defect", "Fault"]
    # Matched by an alias: the name stays.
    assert tags["Area"]["description"] == "Where" and tags["Area"]["exclusive"] is True
    assert tags["Area"]["aliases"] == ["Zone"]


async def test_create_only_leaves_matching_tags_alone(gql: Executor, store: Store) -> None:
    await create_tag(gql, "Bug", color="#e53935")
    content = json_file({"name": "BUG", "color": "000000"}, {"name": "New one"})
    payload = await imported(gql, content, mode="CREATE_ONLY")
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (1, 0, 1)
    tags = {t["name"]: t for t in await tree(gql)}
    assert tags["Bug"]["color"] == "#e53935" and "New one" in tags


async def test_a_dry_run_says_what_the_import_would_do_and_writes_nothing(
    gql: Executor, store: Store
) -> None:
    await create_tag(gql, "Bug")
    content = json_file({"name": "Bug", "description": "x"}, {"name": "New", "parent": "bug"})
    before = await raw(store)
    payload, trips = await run_import(gql, content, dryRun=True)
    assert payload["userErrors"] == []
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (1, 1, 0)
    assert payload["tags"] == []
    assert await raw(store) == before
    assert trips == 1  # the one read of the workspace
    # A dry run reports the same errors as the import would.
    payload, _ = await run_import(gql, json_file({"name": "x", "parent": "nope"}), dryRun=True)
    assert payload["userErrors"][0]["field"] == ["content", "1", "parent"]


async def test_the_archived_column_is_written_and_read(gql: Executor, store: Store) -> None:
    content = json_file({"name": "Old", "archived": True}, {"name": "Current", "archived": False})
    await imported(gql, content)
    docs = {d["name"]: d for d in await raw(store)}
    assert docs["Old"]["archivedAt"] is not None and "archivedAt" not in docs["Current"]
    exported = json.loads(await export(gql))["tags"]
    assert {t["name"]: t["archived"] for t in exported} == {"Current": False, "Old": True}
    await imported(gql, json_file({"name": "Old", "archived": False}))
    assert {d["name"]: d.get("archivedAt") for d in await raw(store)}["Old"] is None


# All or nothing --------------------------------------------------------------------------


async def test_a_file_with_any_error_changes_nothing_and_every_bad_row_is_reported(
    gql: Executor, store: Store
) -> None:
    await create_tag(gql, "Taken", slug="taken-slug")
    content = json_file(
        {"name": "Fine one"},
        {"name": "x" * 101},
        {"name": "Fine two", "color": "red"},
        {"name": "Clash", "slug": "taken-slug"},
        {"name": "fine ONE"},
        {"name": "Orphan", "parent": "missing"},
        {"name": "Alias clash", "aliases": ["taken"]},
        {"slug": "no-name"},
    )
    before = await raw(store)
    payload, _ = await run_import(gql, content)
    assert payload["created"] == 0 and payload["tags"] == []
    found = [(e["code"], e["field"]) for e in payload["userErrors"]]
    assert found == [
        ("VALIDATION", ["content", "2", "name"]),
        ("VALIDATION", ["content", "3", "color"]),
        ("SLUG_TAKEN", ["content", "4", "slug"]),
        ("NAME_TAKEN", ["content", "5", "name"]),
        ("NOT_FOUND", ["content", "6", "parent"]),
        ("NAME_TAKEN", ["content", "7", "aliases", "0"]),
        ("VALIDATION", ["content", "8", "name"]),
    ]
    assert await raw(store) == before


async def test_a_file_that_is_not_of_its_format_is_one_error_on_content(gql: Executor) -> None:
    cases = [
        ("JSON", "{not json", ["content"]),
        ("JSON", '{"version": 2, "tags": []}', ["content"]),
        ("JSON", '{"version": 1, "tags": [{"name": "a", "colour": "red"}]}', ["content", "1"]),
        ("JSON", '{"version": 1, "tags": [{"name": 7}]}', ["content", "1", "name"]),
        ("JSON", '{"version": 1, "tags": [{"name": "a", "name": "b"}]}', ["content"]),
        ("GITHUB_LABELS", '{"name": "bug"}', ["content"]),
        ("GITHUB_LABELS", '["bug"]', ["content", "1"]),
        ("CSV", "", ["content"]),
        ("CSV", "name,colour\r\na,b\r\n", ["content", "0"]),
        ("CSV", "slug\r\na\r\n", ["content", "0"]),
        ("CSV", "name,name\r\na,b\r\n", ["content", "0"]),
        ("CSV", "name\r\na,b\r\n", ["content", "1"]),
        ("CSV", 'name\r\nfine\r\n"open', ["content", "2"]),
        ("CSV", "name,exclusive\r\na,maybe\r\n", ["content", "1", "exclusive"]),
    ]
    for file_format, content, field in cases:
        payload, _ = await run_import(gql, content, file_format)
        assert [e["field"] for e in payload["userErrors"]] == [field], (content, payload)
        assert payload["userErrors"][0]["code"] == "VALIDATION"


async def test_cycles_and_depth_are_refused_for_the_whole_tree(gql: Executor) -> None:
    cycle = json_file(
        {"name": "A", "slug": "a", "parent": "b"}, {"name": "B", "slug": "b", "parent": "a"}
    )
    payload, _ = await run_import(gql, cycle)
    assert {(e["code"], tuple(e["field"])) for e in payload["userErrors"]} == {
        ("CYCLE", ("content", "1", "parent")),
        ("CYCLE", ("content", "2", "parent")),
    }
    chain = [{"name": f"L{i}", "slug": f"l{i}", "parent": f"l{i - 1}"} for i in range(1, 6)]
    payload, _ = await run_import(gql, json_file({"name": "L0", "slug": "l0"}, *chain))
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("DEPTH_EXCEEDED", ["content", "6", "parent"])
    ]
    # Moving an existing subtree below a file's tag counts its descendants too.
    top = await create_tag(gql, "Top", slug="top")
    mid = await create_tag(gql, "Mid", parentId=top["id"])
    await create_tag(gql, "Low", parentId=mid["id"])
    deep = [{"name": f"D{i}", "slug": f"d{i}", "parent": f"d{i - 1}"} for i in range(1, 3)]
    content = json_file({"name": "D0", "slug": "d0"}, *deep, {"name": "Top", "parent": "d2"})
    payload, _ = await run_import(gql, content)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("DEPTH_EXCEEDED", ["content", "4", "parent"])
    ]
    moved = json_file({"name": "D0", "slug": "d0"}, {"name": "Top", "parent": "d0"})
    await imported(gql, moved)
    low = next(t for t in await tree(gql) if t["name"] == "Low")
    assert [a["slug"] for a in low["ancestors"]] == ["d0", "top", "mid"]


async def test_more_tags_than_a_file_may_hold_is_limit_exceeded(gql: Executor) -> None:
    rows = "".join(f"t{i}\r\n" for i in range(MAX_IMPORT_TAGS + 1))
    payload, trips = await run_import(gql, "name\r\n" + rows, "CSV")
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("LIMIT_EXCEEDED", ["content"])
    ]
    assert trips == 0


async def test_the_payloads_tags_count_as_a_file_of_tags(gql: Executor) -> None:
    # The cost bound of the tags list is the most a file holds, so nesting under it is refused.
    query = """mutation($input: ImportTagsInput!) { importTags(input: $input) {
      tags { children(first: 100) { id } } } }"""
    variables = {"input": {"workspaceId": WS, "format": "CSV", "content": "name\r\na\r\n"}}
    result = await gql(query, variables)
    assert result.error_codes == ["QUERY_TOO_COMPLEX"]


# Round trips ------------------------------------------------------------------------------


async def test_round_trips_grow_by_a_few_per_thousand_rows(gql: Executor) -> None:
    def csv(names: range) -> str:
        return "name,description\r\n" + "".join(f"Tag {i},first\r\n" for i in names)

    _, small = await run_import(gql, csv(range(10)), "CSV")
    _, large = await run_import(gql, csv(range(10, 1010)), "CSV")
    # Read, insert per 500, count, then the history (insert, take off the tags) per
    # 1 000: 1 + 1 + 1 + 2 against 1 + 2 + 1 + 2.
    assert (small, large) == (5, 4 + 1000 // WRITE_BATCH)
    changed = "name,description\r\n" + "".join(f"Tag {i},second\r\n" for i in range(1010))
    payload, trips = await run_import(gql, changed, "CSV")
    assert payload["updated"] == 1010
    # The read, one bulk update per 250, two history calls per 1 000.
    assert trips == 1 + -(-1010 // UPDATE_BATCH) + 2 * -(-1010 // HISTORY_BATCH)


# Cut short -----------------------------------------------------------------------------


def outage_at(monkeypatch: pytest.MonkeyPatch, store: Store, method: str, call: int) -> None:
    """The store goes away as the `call`-th call of TagStore.`method` starts."""
    original = getattr(TagStore, method)
    calls = {"n": 0}

    @functools.wraps(original)
    async def cut(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            store.database.outage.begin()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(TagStore, method, cut)


@pytest.mark.parametrize(
    ("method", "call"), [("insert_many", 2), ("update_each", 1), ("count_workspace", 1)]
)
async def test_an_import_cut_short_is_taken_back_once_the_store_is_back(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch, method: str, call: int
) -> None:
    store.database.outage.timeout = 0.2
    root = await create_tag(gql, "Root", slug="root")
    await create_tag(gql, "Kept", description="as it was", parentId=root["id"])
    before = await raw(store)
    rows = "".join(f"New {i},root,\r\n" for i in range(WRITE_BATCH + 5))
    content = "name,parent,description\r\nKept,,changed\r\n" + rows
    outage_at(monkeypatch, store, method, call)
    result = await gql(IMPORT, {"input": {"workspaceId": WS, "format": "CSV", "content": content}})
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()
    store.database.outage.end()
    assert store.recovery.pending > 0
    assert await store.recovery.run_pending() == 0
    assert await raw(store) == before
    assert (await repair(store)).clean


async def test_a_name_taken_meanwhile_takes_the_import_back_and_plans_again(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = TagStore.insert_many
    state = {"raced": False}

    async def racing(self: TagStore, docs: Any) -> None:
        if not state["raced"]:
            state["raced"] = True
            # Another request creates a tag with the file's second name first.
            await create_tag(gql, "second")
        await original(self, docs)

    monkeypatch.setattr(TagStore, "insert_many", racing)
    payload = await imported(gql, "name\r\nFirst\r\nSecond\r\n", "CSV")
    # The second try finds "second" there: MERGE makes it the row's tag.
    assert (payload["created"], payload["updated"]) == (1, 1)
    assert sorted(t["name"] for t in await tree(gql)) == ["First", "Second"]


async def test_the_import_reports_its_progress(store: Store) -> None:
    seen: list[tuple[str, int, int]] = []
    ctx = make_context(None, DEV_PRINCIPAL, store)
    content = "name\r\n" + "".join(f"t{i}\r\n" for i in range(WRITE_BATCH + 1))
    done = await importing.import_tags(
        ctx, WS, TagFileFormat.CSV, content, progress=lambda *p: seen.append(p)
    )
    assert done.created == WRITE_BATCH + 1
    n = WRITE_BATCH + 1
    assert seen == [
        ("reading", 0, 0),
        ("planning", 0, n),
        ("writing", WRITE_BATCH, n),
        ("writing", n, n),
    ]
    assert await store.tags.count_workspace(AuthorizedWorkspace(WS)) == WRITE_BATCH + 1
