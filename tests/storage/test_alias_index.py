"""The names index (names and aliases unique together), its migration, and merges' adoption."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from storage import AuthorizedWorkspace, DuplicateKey, Store
from storage.repair import repair
from storage.tags import TagStore, similar_keys
from tests.harness import Executor
from tests.helpers import WS, create_tag

BY_NAME = 'query($name: String!) { tagByName(workspaceId: "ws-main", name: $name) { id } }'
SEARCH = (
    'query($q: String!) { tags(workspaceId: "ws-main", filter: {search: $q}) { nodes { id } } }'
)
MERGE = """mutation($input: MergeTagsInput!) {
  mergeTags(input: $input) { tag { aliases } userErrors { code } } }"""
TAG = "query($id: ID!) { tag(id: $id) { id name aliases usageCount } }"


def old_style(tag_id: str, name: str, ws: str = WS) -> dict[str, Any]:
    """A tag document as 1.0 stored it: no aliases, no name keys."""
    return {
        "_id": tag_id,
        "ws": ws,
        "name": name,
        "nameKey": name.casefold(),
        "searchKey": name.casefold(),
        "slug": name.casefold(),
        "color": "#e53935",
        "description": None,
        "category": None,
        "categoryKey": None,
        "metadata": {},
        "createdBy": None,
        "parentId": None,
        "ancestors": [],
        "depth": 0,
        "usage": 0,
        "usageByType": {},
        "createdAt": None,
        "updatedAt": None,
    }


async def test_the_store_enforces_a_multikey_unique_index(store: Store) -> None:
    tags = store.database.tags
    await tags.insert_one({"_id": "a", "ws": WS, "slug": "a", "nameKeys": ["alpha", "shared"]})
    with pytest.raises(DuplicateKey) as refused:
        await tags.insert_one({"_id": "b", "ws": WS, "slug": "b", "nameKeys": ["beta", "shared"]})
    assert refused.value.fields == ("ws", "nameKeys")
    with pytest.raises(DuplicateKey):
        await tags.insert_one({"_id": "c", "ws": WS, "slug": "c", "nameKeys": ["alpha"]})
    await tags.insert_one({"_id": "c", "ws": WS, "slug": "c", "nameKeys": ["gamma"]})
    with pytest.raises(DuplicateKey):
        await tags.update_one({"_id": "c"}, {"$push": {"nameKeys": "alpha"}})
    # Another workspace is another namespace.
    await tags.insert_one({"_id": "d", "ws": "ws-other", "slug": "d", "nameKeys": ["shared"]})


async def test_the_index_does_not_see_repeats_inside_one_document(store: Store) -> None:
    # Why validation refuses a repeated alias: the index itself lets it through.
    await store.database.tags.insert_one(
        {"_id": "a", "ws": WS, "slug": "a", "nameKeys": ["same", "same"]}
    )
    assert await store.database.tags.count({"ws": WS}) == 1


async def test_tags_without_keys_are_outside_the_partial_index(store: Store) -> None:
    tags = store.database.tags
    await tags.insert_one({"_id": "a", "ws": WS, "slug": "a"})
    await tags.insert_one({"_id": "b", "ws": WS, "slug": "b"})
    assert await tags.count({"ws": WS}) == 2


async def test_start_up_builds_the_keys_of_tags_stored_before_aliases(
    gql: Executor, store: Store
) -> None:
    tags = store.database.tags
    ids = [f"tag_{n:024x}" for n in (1, 2)]
    await tags.insert_many([old_style(ids[0], "Legacy"), old_style(ids[1], "Older")])
    # Creating the indexes again is what every start does: it must not fail on them.
    await store.ensure_indexes()
    stored = await tags.find({"_id": ids[0]})
    assert stored[0]["nameKeys"] == ["legacy"] and stored[0]["aliases"] == []
    found = (await gql(BY_NAME, {"name": "LEGACY"})).ok()["tagByName"]
    assert found == {"id": ids[0]}
    assert (await gql(SEARCH, {"q": "old"})).ok()["tags"]["nodes"] == [{"id": ids[1]}]
    # An alias may not take a migrated tag's name.
    taken = await gql(
        "mutation($input: CreateTagInput!) { createTag(input: $input) { userErrors { code field } } }",
        {"input": {"workspaceId": WS, "name": "New", "aliases": ["older"]}},
    )
    assert taken.ok()["createTag"]["userErrors"] == [
        {"code": "NAME_TAKEN", "field": ["aliases", "0"]}
    ]
    assert (await repair(store)).clean


async def test_repair_builds_missing_keys(store: Store) -> None:
    await store.database.tags.insert_one(old_style(f"tag_{3:024x}", "Late"))
    report = await repair(store)
    assert report.name_keys_built == 1 and report.similar_keys_built == 1
    assert (await repair(store)).clean


SIMILAR = 'query($name: String!) { similarTags(workspaceId: "ws-main", name: $name) { id } }'


async def test_start_up_gives_tags_stored_before_1_2_their_similar_keys(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tags stored with aliases but before similarKeys existed (1.1) are found by
    similarTags once the service has started, a batch at a time, and the index
    of the former regex prefilter is gone."""
    monkeypatch.setattr("storage.tags.SIMILAR_KEYS_BATCH", 2)
    tags = store.database.tags
    ids = [f"tag_{n:024x}" for n in (4, 5, 6)]
    for tag_id, name, alias in zip(
        ids, ("Rust", "Kubernetes", "Data-Base"), ("rs", "k8s", "db"), strict=True
    ):
        doc = old_style(tag_id, name)
        doc.update(
            aliases=[alias], nameKeys=[name.casefold(), alias], searchKeys=[name.casefold(), alias]
        )
        await tags.insert_one(doc)
    await store.database.db["tags"].create_index(
        [("ws", 1), ("searchKeys", 1)], name="ws__searchKeys"
    )
    assert (await gql(SIMILAR, {"name": "rust"})).ok()["similarTags"] == []
    await store.ensure_indexes()
    stored = {d["_id"]: d["similarKeys"] for d in await tags.find({"_id": {"$in": ids}})}
    assert stored[ids[0]] == similar_keys(["rust", "rs"])
    assert "database" in stored[ids[2]] and "db" in stored[ids[2]]
    assert (await gql(SIMILAR, {"name": "rust"})).ok()["similarTags"] == [{"id": ids[0]}]
    assert (await gql(SIMILAR, {"name": "kubernets"})).ok()["similarTags"] == [{"id": ids[1]}]
    assert (await gql(SIMILAR, {"name": "data base"})).ok()["similarTags"] == [{"id": ids[2]}]
    assert (await gql(SIMILAR, {"name": "k8"})).ok()["similarTags"] == [{"id": ids[1]}]
    assert "ws__searchKeys" not in await store.database.db["tags"].index_information()
    assert (await repair(store)).clean


# A merge cut short between its steps ---------------------------------------------------------


async def test_repair_finishes_an_interrupted_adoption(gql: Executor, store: Store) -> None:
    target = await create_tag(gql, "Target", aliases=["T"])
    source = await create_tag(gql, "Source", aliases=["S"])
    ws = AuthorizedWorkspace(WS)
    adopt = [["Source", "source", "source"], ["S", "s", "s"]]
    # What a merge writes first, then nothing more: the crash.
    await store.tags.mark_deleting(ws, [source["id"]], merge_into=target["id"], adopt=adopt)
    report = await repair(store)
    assert report.finished_merges == 1
    after = (await gql(TAG, {"id": target["id"]})).ok()["tag"]
    assert after["aliases"] == ["T", "Source", "S"]
    assert (await gql(TAG, {"id": source["id"]})).ok()["tag"] is None
    assert (await gql(BY_NAME, {"name": "s"})).ok()["tagByName"] == {"id": target["id"]}
    assert (await repair(store)).clean
    # Idempotent: adopting the same names again changes nothing.
    await store.tags.adopt_names(ws, target["id"], adopt, limit=50, at=None)
    again = (await gql(TAG, {"id": target["id"]})).ok()["tag"]
    assert again["aliases"] == ["T", "Source", "S"]


async def test_adoption_leaves_out_a_name_another_tag_took_meanwhile(
    gql: Executor, store: Store
) -> None:
    target = await create_tag(gql, "Target")
    source = await create_tag(gql, "Source", aliases=["Gone soon"])
    ws = AuthorizedWorkspace(WS)
    adopt = [["Source", "source", "source"], ["Gone soon", "gone soon", "gone soon"]]
    await store.tags.mark_deleting(ws, [source["id"]], merge_into=target["id"], adopt=adopt)
    await store.tags.release_names(ws, [source["id"]])
    # Between the release and the adoption another request takes one of the names.
    rival = await create_tag(gql, "gone soon")
    await repair(store)
    assert (await gql(TAG, {"id": target["id"]})).ok()["tag"]["aliases"] == ["Source"]
    assert (await gql(BY_NAME, {"name": "Gone Soon"})).ok()["tagByName"] == {"id": rival["id"]}


def outage_at(monkeypatch: pytest.MonkeyPatch, store: Store, method: str) -> None:
    """The store becomes unreachable just as `TagStore.method` is about to run."""
    original = getattr(TagStore, method)

    @functools.wraps(original)
    async def cut(self: TagStore, *args: Any, **kwargs: Any) -> Any:
        store.database.outage.begin()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(TagStore, method, cut)


@pytest.mark.parametrize("step", ["release_names", "adopt_names"])
async def test_the_journal_completes_a_merge_cut_short_before_adopting(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    store.database.outage.timeout = 0.05
    target = await create_tag(gql, "Target")
    source = await create_tag(gql, "Source", aliases=["Src"])
    outage_at(monkeypatch, store, step)
    result = await gql(MERGE, {"input": {"targetId": target["id"], "sourceIds": [source["id"]]}})
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()
    store.database.outage.end()
    assert store.recovery.pending > 0
    assert await store.recovery.run_pending() == 0
    after = (await gql(TAG, {"id": target["id"]})).ok()["tag"]
    assert after["aliases"] == ["Source", "Src"]
    assert (await gql(TAG, {"id": source["id"]})).ok()["tag"] is None
    assert (await repair(store)).clean
