"""(1.2) The change history: tagChanges, Tag.history, TagChange as a Node.

One entry per change of a tag (create, update, archive, restore, delete, merge
on each source, import),
with the actor, the time and each changed field's before/after as the API
shows it; none for a refused change or an update that changes nothing. Pages
are keyset pages, newest first, ties by id.
"""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.authorization import READ, WRITE, Principal
from storage import Store
from storage.repair import repair
from tests.harness import Executor
from tests.helpers import OTHER_WS, UPDATE_TAG, WS, create_tag

CHANGES = """
query Changes($ws: ID!, $tagId: ID, $actor: ID, $first: Int, $after: String) {
  tagChanges(workspaceId: $ws, tagId: $tagId, actor: $actor, first: $first, after: $after) {
    edges { cursor node { id kind tagId actor at mergedIntoId tag { id name }
                          changes { field before after } } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

HISTORY = """
query History($id: ID!, $first: Int, $after: String) {
  tag(id: $id) {
    history(first: $first, after: $after) {
      nodes { id kind tagId actor changes { field before after } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""

PAGE_HISTORY = """
query PageHistory($ws: ID!, $first: Int, $h: Int) {
  tags(workspaceId: $ws, first: $first) {
    nodes { id history(first: $h) { nodes { id kind } pageInfo { hasNextPage } } }
  }
}
"""

NODE = """
query Node($id: ID!, $ids: [ID!]!) {
  node(id: $id) { id ... on TagChange { kind tagId tag { id } } }
  nodes(ids: $ids) { id ... on TagChange { kind } ... on Tag { name } }
}
"""

MERGE = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) { mergedTagIds tag { id aliases } userErrors { code field } }
}
"""

DELETE = """
mutation Delete($input: DeleteTagInput!) {
  deleteTag(input: $input) { deletedTagIds userErrors { code } }
}
"""

CREATE_MANY = """
mutation Many($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id } userErrors { code field } }
}
"""


async def changes(gql: Executor, **variables: Any) -> dict[str, Any]:
    result = await gql(CHANGES, {"ws": WS, **variables})
    page: dict[str, Any] = result.ok()["tagChanges"]
    return page


def kinds(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["kind"], e["node"]["tagId"]) for e in page["edges"]]


def fields(node: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["field"]: (c["before"], c["after"]) for c in node["changes"]}


async def test_create_records_every_field_set(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    tag = await create_tag(
        gql,
        "Child",
        parentId=parent["id"],
        description="A child",
        metadata={"a": 1},
        aliases=["Kid"],
    )
    page = await changes(gql, tagId=tag["id"])
    [edge] = page["edges"]
    node = edge["node"]
    assert node["kind"] == "CREATED" and node["actor"] == "dev"
    assert node["id"].startswith("chg_") and node["tag"] == {"id": tag["id"], "name": "Child"}
    assert fields(node) == {
        "name": (None, "Child"),
        "slug": (None, "child"),
        "color": (None, tag["color"]),
        "description": (None, "A child"),
        "metadata": (None, {"a": 1}),
        "aliases": (None, ["Kid"]),
        "parent": (None, parent["id"]),
    }
    assert node["at"] == tag["createdAt"]


async def test_update_records_before_and_after_of_changed_fields_only(gql: Executor) -> None:
    tag = await create_tag(gql, "Old", description="text")
    other = await create_tag(gql, "Other")
    variables = {
        "input": {"id": tag["id"], "name": "New", "description": None, "parentId": other["id"]}
    }
    assert (await gql(UPDATE_TAG, variables)).ok()["updateTag"]["userErrors"] == []
    # The same values again change nothing and record nothing.
    same = {"input": {"id": tag["id"], "name": "New"}}
    assert (await gql(UPDATE_TAG, same)).ok()["updateTag"]["userErrors"] == []
    page = await changes(gql, tagId=tag["id"])
    assert [e["node"]["kind"] for e in page["edges"]] == ["UPDATED", "CREATED"]
    assert fields(page["edges"][0]["node"]) == {
        "name": ("Old", "New"),
        "description": ("text", None),
        "parent": (None, other["id"]),
    }


async def test_a_refused_change_records_nothing(gql: Executor) -> None:
    taken = await create_tag(gql, "Taken")
    tag = await create_tag(gql, "Mine")
    before = await changes(gql)
    refused = await gql(UPDATE_TAG, {"input": {"id": tag["id"], "name": "taken"}})
    assert refused.ok()["updateTag"]["userErrors"][0]["code"] == "NAME_TAKEN"
    batch = {"input": {"workspaceId": WS, "tags": [{"name": "Fine"}, {"name": "TAKEN"}]}}
    assert (await gql(CREATE_MANY, batch)).ok()["createTags"]["userErrors"]
    cycle = await gql(MERGE, {"input": {"targetId": tag["id"], "sourceIds": [tag["id"]]}})
    assert cycle.ok()["mergeTags"]["userErrors"]
    assert (await changes(gql)) == before
    assert taken["id"] in {e["node"]["tagId"] for e in before["edges"]}


async def test_merge_records_each_source_and_the_targets_new_aliases(gql: Executor) -> None:
    target = await create_tag(gql, "Bug")
    one, two = await create_tag(gql, "Defect"), await create_tag(gql, "Issue")
    child = await create_tag(gql, "Under issue", parentId=two["id"])
    result = await gql(
        MERGE, {"input": {"targetId": target["id"], "sourceIds": [one["id"], two["id"]]}}
    )
    assert result.ok()["mergeTags"]["userErrors"] == []
    page = await changes(gql, first=3)
    merged = {e["node"]["tagId"]: e["node"] for e in page["edges"]}
    assert set(merged) == {one["id"], two["id"], target["id"]}
    for source in (one, two):
        node = merged[source["id"]]
        assert node["kind"] == "MERGED" and node["mergedIntoId"] == target["id"]
        assert node["tag"] is None
        assert fields(node)["name"] == (source["name"], None)
    assert merged[target["id"]]["kind"] == "UPDATED"
    assert fields(merged[target["id"]]) == {"aliases": ([], ["Defect", "Issue"])}
    # Also after the tag went, tagId finds its entries; the child moved without one.
    assert kinds(await changes(gql, tagId=two["id"])) == [
        ("MERGED", two["id"]),
        ("CREATED", two["id"]),
    ]
    assert kinds(await changes(gql, tagId=child["id"])) == [("CREATED", child["id"])]
    history = (await gql(HISTORY, {"id": target["id"]})).ok()["tag"]["history"]
    assert [n["kind"] for n in history["nodes"]] == ["UPDATED", "CREATED"]


async def test_delete_records_every_tag_it_removes(gql: Executor) -> None:
    root = await create_tag(gql, "Root", category="topic")
    below = await create_tag(gql, "Below", parentId=root["id"])
    result = await gql(DELETE, {"input": {"id": root["id"], "deleteDescendants": True}})
    assert sorted(result.ok()["deleteTag"]["deletedTagIds"]) == sorted([root["id"], below["id"]])
    page = await changes(gql, first=2)
    assert sorted(kinds(page)) == sorted([("DELETED", root["id"]), ("DELETED", below["id"])])
    gone = {e["node"]["tagId"]: e["node"] for e in page["edges"]}
    assert fields(gone[root["id"]])["category"] == ("topic", None)
    assert fields(gone[below["id"]])["parent"] == (root["id"], None)


ARCHIVE = """
mutation Archive($input: ArchiveTagsInput!) {
  archiveTags(input: $input) { tags { id } userErrors { code } }
}
"""

RESTORE = """
mutation Restore($input: ArchiveTagsInput!) {
  restoreTags(input: $input) { tags { id } userErrors { code } }
}
"""

IMPORT = """
mutation Import($input: ImportTagsInput!) {
  importTags(input: $input) { created updated unchanged userErrors { code field } }
}
"""


async def test_archive_and_restore_record_their_kind_and_no_field(gql: Executor) -> None:
    one, two = await create_tag(gql, "Old one"), await create_tag(gql, "Old two")
    both = {"input": {"workspaceId": WS, "ids": [one["id"], two["id"]]}}
    assert (await gql(ARCHIVE, both)).ok()["archiveTags"]["userErrors"] == []
    # Archiving an archived tag changes nothing, so records nothing.
    assert (await gql(ARCHIVE, both)).ok()["archiveTags"]["userErrors"] == []
    restore = {"input": {"workspaceId": WS, "ids": [one["id"]]}}
    assert (await gql(RESTORE, restore)).ok()["restoreTags"]["userErrors"] == []
    page = await changes(gql, first=3)
    assert kinds(page)[0] == ("RESTORED", one["id"])
    assert sorted(kinds(page)[1:]) == sorted([("ARCHIVED", one["id"]), ("ARCHIVED", two["id"])])
    for edge in page["edges"]:
        assert edge["node"]["changes"] == [] and edge["node"]["actor"] == "dev"
    # One archive of two tags is one change: its entries share their time.
    assert page["edges"][1]["node"]["at"] == page["edges"][2]["node"]["at"]
    assert len((await changes(gql))["edges"]) == 5  # and the two creations


async def test_import_records_each_tag_it_creates_or_changes(gql: Executor) -> None:
    kept = await create_tag(gql, "Kept", description="same")
    changed = await create_tag(gql, "Changed", description="before")
    content = "name,description\r\nKept,same\r\nChanged,after\r\nNew,fresh\r\n"
    variables = {"input": {"workspaceId": WS, "format": "CSV", "content": content}}
    # A dry run and a refused import record nothing.
    dry = {"input": {**variables["input"], "dryRun": True}}
    assert (await gql(IMPORT, dry)).ok()["importTags"]["created"] == 1
    refused = {"input": {**variables["input"], "content": "name\r\n" + "x" * 101 + "\r\n"}}
    assert (await gql(IMPORT, refused)).ok()["importTags"]["userErrors"]
    assert len((await changes(gql))["edges"]) == 2
    done = (await gql(IMPORT, variables)).ok()["importTags"]
    assert (done["created"], done["updated"], done["unchanged"]) == (1, 1, 1)
    page = await changes(gql, first=2)
    imported = {e["node"]["tag"]["name"]: e["node"] for e in page["edges"]}
    assert {n["kind"] for n in imported.values()} == {"IMPORTED"}
    assert fields(imported["Changed"]) == {"description": ("before", "after")}
    assert fields(imported["New"])["name"] == (None, "New")
    assert fields(imported["New"])["description"] == (None, "fresh")
    assert kinds(await changes(gql, tagId=kept["id"])) == [("CREATED", kept["id"])]
    assert changed["id"] in {n["tagId"] for n in imported.values()}
    # The same file again changes nothing, and records nothing.
    assert (await gql(IMPORT, variables)).ok()["importTags"]["unchanged"] == 3
    assert len((await changes(gql))["edges"]) == 4


async def test_pages_are_newest_first_keyset_and_exact(gql: Executor) -> None:
    for i in range(5):
        await create_tag(gql, f"Tag {i}")
    walked: list[str] = []
    after = None
    previous = False
    while True:
        page = await changes(gql, first=2, after=after)
        assert page["pageInfo"]["hasPreviousPage"] is previous
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after, previous = page["pageInfo"]["endCursor"], True
    everything = await changes(gql)
    assert walked == [e["node"]["id"] for e in everything["edges"]]
    times = [(e["node"]["at"], e["node"]["id"]) for e in everything["edges"]]
    assert times == sorted(times, reverse=True) and len(times) == 5
    # A cursor stays valid while entries arrive before it.
    await create_tag(gql, "Later")
    rest = await changes(gql, first=10, after=everything["edges"][1]["cursor"])
    assert [e["node"]["id"] for e in rest["edges"]] == walked[2:]


async def test_actor_filter_and_its_combination_with_tag(gql: Executor) -> None:
    writer = Principal(id="key_writer", scopes=(WRITE,), workspace_ids=(WS,))
    mine = await create_tag(gql, "Mine")
    result = await gql(
        UPDATE_TAG, {"input": {"id": mine["id"], "color": "#123456"}}, principal=writer
    )
    assert result.ok()["updateTag"]["userErrors"] == []
    by_writer = await changes(gql, actor="key_writer")
    assert kinds(by_writer) == [("UPDATED", mine["id"])]
    assert by_writer["edges"][0]["node"]["actor"] == "key_writer"
    assert kinds(await changes(gql, actor="dev", tagId=mine["id"])) == [("CREATED", mine["id"])]
    assert (await changes(gql, actor="nobody"))["edges"] == []
    assert (await changes(gql, actor="x" * 2000))["edges"] == []
    assert (await changes(gql, tagId="not-a-tag-id"))["edges"] == []


async def test_bad_arguments_are_bad_user_input(gql: Executor) -> None:
    for variables in ({"first": 101}, {"first": -1}, {"after": "nonsense"}, {"actor": "a\nb"}):
        result = await gql(CHANGES, {"ws": WS, **variables})
        assert result.error_codes == ["BAD_USER_INPUT"], variables
    assert (await gql(CHANGES, {"ws": "bad id!"})).error_codes == ["BAD_USER_INPUT"]


async def test_a_tag_change_is_a_node(gql: Executor) -> None:
    tag = await create_tag(gql, "Findable")
    [edge] = (await changes(gql))["edges"]
    change_id = edge["node"]["id"]
    data = (
        await gql(NODE, {"id": change_id, "ids": [change_id, tag["id"], "chg_" + "0" * 48]})
    ).ok()
    assert data["node"] == {
        "id": change_id,
        "kind": "CREATED",
        "tagId": tag["id"],
        "tag": {"id": tag["id"]},
    }
    assert data["nodes"] == [
        {"id": change_id, "kind": "CREATED"},
        {"id": tag["id"], "name": "Findable"},
        None,
    ]
    # In a workspace the caller cannot see, it does not exist.
    stranger = Principal(id="stranger", scopes=(READ,), workspace_ids=(OTHER_WS,))
    hidden = (await gql(NODE, {"id": change_id, "ids": [change_id]}, principal=stranger)).ok()
    assert hidden == {"node": None, "nodes": [None]}


async def test_tag_history_pages_like_tag_changes(gql: Executor) -> None:
    tag = await create_tag(gql, "Busy")
    for i in range(4):
        await gql(UPDATE_TAG, {"input": {"id": tag["id"], "description": f"v{i}"}})
    first = (await gql(HISTORY, {"id": tag["id"], "first": 2})).ok()["tag"]["history"]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": first["pageInfo"]["endCursor"],
    }
    after = first["pageInfo"]["endCursor"]
    second = (await gql(HISTORY, {"id": tag["id"], "first": 5, "after": after})).ok()["tag"][
        "history"
    ]
    assert (
        second["pageInfo"]["hasNextPage"] is False and second["pageInfo"]["hasPreviousPage"] is True
    )
    ids = [n["id"] for n in first["nodes"] + second["nodes"]]
    assert ids == [e["node"]["id"] for e in (await changes(gql, tagId=tag["id"]))["edges"]]
    assert [fields(n)["description"] for n in second["nodes"][:2]] == [("v0", "v1"), (None, "v0")]


@pytest.mark.parametrize("page_size", [3, 12])
async def test_a_page_of_tags_with_history_costs_constant_round_trips(
    gql: Executor, page_size: int
) -> None:
    for i in range(page_size):
        tag = await create_tag(gql, f"Tag {i:02d}")
        await gql(UPDATE_TAG, {"input": {"id": tag["id"], "description": "changed"}})
    result = await gql(PAGE_HISTORY, {"ws": WS, "first": page_size, "h": 1})
    tags = result.ok()["tags"]["nodes"]
    assert len(tags) == page_size
    assert all(t["history"]["nodes"][0]["kind"] == "UPDATED" for t in tags)
    assert all(t["history"]["pageInfo"]["hasNextPage"] for t in tags)
    # The page of tags, then one batched call for every tag's history.
    assert result.round_trips == 2


async def test_a_page_of_changes_costs_one_round_trip(gql: Executor) -> None:
    for i in range(6):
        await create_tag(gql, f"Tag {i}")
    for size in (2, 6):
        result = await gql(CHANGES, {"ws": WS, "first": size})
        assert len(result.ok()["tagChanges"]["edges"]) == size
        # The page, and the tags of its entries in one batch (node { tag }).
        assert result.round_trips == 2


async def test_repair_finds_nothing_after_recorded_changes(gql: Executor, store: Store) -> None:
    tag = await create_tag(gql, "Tidy")
    await gql(UPDATE_TAG, {"input": {"id": tag["id"], "name": "Tidier"}})
    other = await create_tag(gql, "Gone")
    await gql(MERGE, {"input": {"targetId": tag["id"], "sourceIds": [other["id"]]}})
    report = await repair(store)
    assert report.clean, report
