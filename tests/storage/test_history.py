"""(1.2) storage/history.py: entries survive a crash between a change and its copy,
are written once however often they are copied, and expire after TAGS_HISTORY_DAYS."""

from __future__ import annotations

from typing import Any

import pytest

from storage import Store
from storage.history import PENDING, TTL_INDEX, HistoryStore, field_changes
from storage.repair import repair
from tests.harness import Executor, open_test_store
from tests.helpers import DELETE_TAG, UPDATE_TAG, WS, create_tag

CREATE = """mutation($input: CreateTagInput!) { createTag(input: $input) { tag { id } } }"""
MERGE = """mutation($input: MergeTagsInput!) { mergeTags(input: $input) { mergedTagIds } }"""
CHANGES = """query($ws: ID!) { tagChanges(workspaceId: $ws) { nodes { id kind tagId } } }"""


class Crash(Exception):
    """The process 'dies' here: no store error, so nothing reaches the journal."""


def crash_at(monkeypatch: pytest.MonkeyPatch, method: str) -> list[Any]:
    calls: list[Any] = []

    async def crash(self: HistoryStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise Crash(method)

    monkeypatch.setattr(HistoryStore, method, crash)
    return calls


async def kinds(gql: Executor) -> list[tuple[str, str]]:
    nodes = (await gql(CHANGES, {"ws": WS})).ok()["tagChanges"]["nodes"]
    assert len({n["id"] for n in nodes}) == len(nodes)
    return sorted((n["kind"], n["tagId"]) for n in nodes)


async def crashed(gql: Executor, query: str, variables: dict[str, Any]) -> None:
    result = await gql(query, variables)
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"], result.errors


async def repaired(store: Store, written: int) -> None:
    """Repair writes what the crash left (each entry once); a second finds nothing."""
    report = await repair(store)
    assert report.history_entries_written == written, report
    assert (await repair(store)).clean
    carrying = [d["_id"] for d in await store.database.tags.find({}) if d.get(PENDING)]
    assert carrying == []


async def test_a_crash_before_a_creations_entry_is_copied(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        crash_at(patch, "insert")
        await crashed(gql, CREATE, {"input": {"workspaceId": WS, "name": "Made"}})
    [tag] = await store.database.tags.find({"ws": WS})
    # The tag is there; its entry rides in it until it is copied.
    assert [e["kind"] for e in tag[PENDING]] == ["CREATED"]
    assert await kinds(gql) == []
    await repaired(store, 1)
    assert await kinds(gql) == [("CREATED", tag["_id"])]


async def test_a_crash_before_an_updates_entry_is_copied(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = await create_tag(gql, "Before")
    with monkeypatch.context() as patch:
        crash_at(patch, "insert")
        await crashed(gql, UPDATE_TAG, {"input": {"id": tag["id"], "name": "After"}})
    await repaired(store, 1)
    assert await kinds(gql) == [("CREATED", tag["id"]), ("UPDATED", tag["id"])]


async def test_a_crash_after_the_copy_before_the_entry_left_the_tag(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        crash_at(patch, "clear_pending")
        await crashed(gql, CREATE, {"input": {"workspaceId": WS, "name": "Copied"}})
    # Already in the history: repair takes it off the tag and writes nothing twice.
    await repaired(store, 0)
    assert [k for k, _ in await kinds(gql)] == ["CREATED"]


async def test_a_crash_before_a_deletes_entries_are_written(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = await create_tag(gql, "Parent")
    child = await create_tag(gql, "Child", parentId=parent["id"])
    with monkeypatch.context() as patch:
        crash_at(patch, "insert")
        variables = {"input": {"id": parent["id"], "deleteDescendants": True}}
        await crashed(gql, DELETE_TAG, variables)
    # The flags carry what the history records; repair finishes the delete with it.
    await repaired(store, 2)
    assert await kinds(gql) == sorted(
        [
            ("CREATED", parent["id"]),
            ("CREATED", child["id"]),
            ("DELETED", parent["id"]),
            ("DELETED", child["id"]),
        ]
    )


async def test_a_crash_before_a_merges_entries_are_written(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = await create_tag(gql, "Target")
    one, two = await create_tag(gql, "One"), await create_tag(gql, "Two")
    with monkeypatch.context() as patch:
        crash_at(patch, "insert")
        variables = {"input": {"targetId": target["id"], "sourceIds": [one["id"], two["id"]]}}
        await crashed(gql, MERGE, variables)
    # Two MERGED entries and the target's UPDATED one, which both flags carry.
    await repaired(store, 3)
    merged = [k for k in await kinds(gql) if k[0] != "CREATED"]
    assert merged == sorted(
        [("MERGED", one["id"]), ("MERGED", two["id"]), ("UPDATED", target["id"])]
    )


ARCHIVE = """mutation($input: ArchiveTagsInput!) { archiveTags(input: $input) { tags { id } } }"""
IMPORT = """mutation($input: ImportTagsInput!) { importTags(input: $input) { created } }"""


async def test_a_crash_before_an_archives_entries_are_copied(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = await create_tag(gql, "One"), await create_tag(gql, "Two")
    with monkeypatch.context() as patch:
        crash_at(patch, "insert")
        variables = {"input": {"workspaceId": WS, "ids": [one["id"], two["id"]]}}
        await crashed(gql, ARCHIVE, variables)
    # Both tags carry the one stub of the change; repair makes an entry of each.
    carried = [d[PENDING] for d in await store.database.tags.find({"ws": WS})]
    assert [[e["kind"] for e in c] for c in carried] == [["ARCHIVED"], ["ARCHIVED"]]
    await repaired(store, 2)
    assert [k for k in await kinds(gql) if k[0] != "CREATED"] == sorted(
        [("ARCHIVED", one["id"]), ("ARCHIVED", two["id"])]
    )


async def test_a_crash_before_an_imports_entries_are_copied(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = await create_tag(gql, "Kept")
    content = "name,description\r\nKept,changed\r\nNew,\r\n"
    with monkeypatch.context() as patch:
        crash_at(patch, "insert")
        variables = {"input": {"workspaceId": WS, "format": "CSV", "content": content}}
        await crashed(gql, IMPORT, variables)
    # The process died after the import's writes: they stay, and so do their entries.
    await repaired(store, 2)
    imported = [k for k in await kinds(gql) if k[0] == "IMPORTED"]
    assert len(imported) == 2 and ("IMPORTED", kept["id"]) in imported


async def test_the_same_entries_twice_are_written_once(store: Store) -> None:
    entries = [
        {"_id": f"{n:048x}", "ws": WS, "tagId": f"tag_{n:024x}", "kind": "CREATED", "at": n}
        for n in range(3)
    ]
    assert await store.history.insert(entries[:1]) == 1
    assert await store.history.insert(entries) == 2
    assert await store.history.insert(entries) == 0
    assert await store.database.tag_changes.count({}) == 3


def test_field_changes_show_fields_as_the_api_does() -> None:
    before = {"name": "A", "slug": "a", "color": "#000000", "parentId": "tag_1"}
    after = {**before, "metadata": {"k": 1}, "aliases": ["B"], "exclusive": True}
    assert field_changes(before, after) == [
        {"field": "metadata", "before": {}, "after": {"k": 1}},
        {"field": "aliases", "before": [], "after": ["B"]},
        {"field": "exclusive", "before": False, "after": True},
    ]
    # A whole tag lists every field that has a value, in the contract's order.
    assert [c["field"] for c in field_changes(None, before)] == ["name", "slug", "color", "parent"]
    assert all(c["after"] is None for c in field_changes(after, None))


@pytest.mark.parametrize(("days", "seconds"), [(365, 365 * 86_400), (1, 86_400), (0, None)])
async def test_the_ttl_index_follows_the_setting(days: int, seconds: int | None) -> None:
    async with open_test_store("tags_history_ttl") as store:
        assert await store.history.ttl_seconds() == 365 * 86_400  # the default
        # A changed setting changes the index in place; 0 removes it.
        await store.history.ensure_indexes(days)
        assert await store.history.ttl_seconds() == seconds
        indexes = await store.database.db["tag_changes"].index_information()
        assert (TTL_INDEX in indexes) is (seconds is not None)
        # And back: from no index (or another expiry) to 30 days.
        await store.history.ensure_indexes(30)
        assert await store.history.ttl_seconds() == 30 * 86_400
        assert indexes.get(TTL_INDEX, {}).get("key", [("at", 1)]) == [("at", 1)]
