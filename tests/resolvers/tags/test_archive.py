"""Archiving and restoring tags (contract 1.2): state, look-ups, lists, applying, events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from resolvers.events.bus import LocalBus, TagEventKind, TagEventRecord
from schema import TagsSchema
from storage import AuthorizedWorkspace, Store
from tests.harness import Executor
from tests.helpers import ADD_TAGS, OTHER_WS, WS, create_tag, tag_resources
from tests.resolvers.test_authorization import raw_snapshot
from tests.resolvers.test_concurrency import interleaved  # noqa: F401  (a fixture)

STATE = "id name archived archivedAt updatedAt"
ARCHIVE = f"""
mutation Archive($input: ArchiveTagsInput!) {{
  archiveTags(input: $input) {{
    tags {{ {STATE} }}
    notFoundIds
    userErrors {{ code field message }}
  }}
}}
"""
RESTORE = f"""
mutation Restore($input: ArchiveTagsInput!) {{
  restoreTags(input: $input) {{
    tags {{ {STATE} }}
    notFoundIds
    userErrors {{ code field message }}
  }}
}}
"""
LIST = """
query List($ws: ID!, $filter: TagFilter, $order: TagOrder, $first: Int, $after: String,
           $last: Int, $before: String) {
  tags(workspaceId: $ws, filter: $filter, orderBy: $order, first: $first, after: $after,
       last: $last, before: $before) {
    totalCount
    nodes { name archived }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
SET = """
mutation Set($input: SetResourceTagsInput!) {
  setResourceTags(input: $input) {
    resource { tags { name } } addedCount removedCount
    userErrors { code field message }
  }
}
"""
REMOVE = """
mutation Remove($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) { removedCount userErrors { code field } }
}
"""
MERGE = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) { tag { name aliases } mergedTagIds userErrors { code field } }
}
"""
MISSING_ID = "tag_0123456789abcdef01234567"


async def archive(gql: Executor, ids: list[str], ws: str = WS) -> dict[str, Any]:
    return (await gql(ARCHIVE, {"input": {"workspaceId": ws, "ids": ids}})).ok()["archiveTags"]


async def restore(gql: Executor, ids: list[str], ws: str = WS) -> dict[str, Any]:
    return (await gql(RESTORE, {"input": {"workspaceId": ws, "ids": ids}})).ok()["restoreTags"]


async def names(gql: Executor, tag_filter: dict[str, Any] | None = None, **args: Any) -> list[str]:
    variables = {"ws": WS, "filter": tag_filter, "first": 100, **args}
    return [n["name"] for n in (await gql(LIST, variables)).ok()["tags"]["nodes"]]


# The state --------------------------------------------------------------------------


async def test_archive_then_restore_sets_and_clears_the_state(gql: Executor) -> None:
    tag = await create_tag(gql, "Legacy")
    done = await gql(ARCHIVE, {"input": {"workspaceId": WS, "ids": [tag["id"]]}})
    payload = done.ok()["archiveTags"]
    assert payload["userErrors"] == [] and payload["notFoundIds"] == []
    [archived] = payload["tags"]
    assert archived["id"] == tag["id"] and archived["archived"] is True
    assert archived["archivedAt"] is not None
    # Archiving is a change of the tag: updatedAt moves with it.
    assert archived["updatedAt"] == archived["archivedAt"] > tag["updatedAt"]
    # Read, change, read back; the history entry written and taken off the tag.
    assert done.round_trips == 5

    [restored] = (await restore(gql, [tag["id"]]))["tags"]
    assert restored["archived"] is False and restored["archivedAt"] is None
    assert restored["updatedAt"] >= archived["updatedAt"]
    shown = (await gql("query($id: ID!) { tag(id: $id) { archived archivedAt } }", tag)).ok()
    assert shown == {"tag": {"archived": False, "archivedAt": None}}


async def test_archiving_twice_or_restoring_a_live_tag_changes_nothing(
    gql: Executor, store: Store
) -> None:
    tag = await create_tag(gql, "Twice")
    first = (await archive(gql, [tag["id"]]))["tags"][0]
    before = await raw_snapshot(store)
    again = await gql(ARCHIVE, {"input": {"workspaceId": WS, "ids": [tag["id"]]}})
    payload = again.ok()["archiveTags"]
    assert payload == {"tags": [first], "notFoundIds": [], "userErrors": []}
    assert again.round_trips == 1  # read only: nothing to write
    assert await raw_snapshot(store) == before

    live = await create_tag(gql, "Live")
    before = await raw_snapshot(store)
    [same] = (await restore(gql, [live["id"]]))["tags"]
    assert same["archived"] is False and same["updatedAt"] == live["updatedAt"]
    assert await raw_snapshot(store) == before


async def test_payload_follows_ids_once_each_and_names_what_was_not_found(
    gql: Executor,
) -> None:
    a, b = await create_tag(gql, "A"), await create_tag(gql, "B")
    foreign = await create_tag(gql, "Elsewhere", workspace=OTHER_WS)
    asked = [b["id"], MISSING_ID, a["id"], b["id"], foreign["id"], "not-an-id", MISSING_ID]
    payload = await archive(gql, asked)
    assert [t["name"] for t in payload["tags"]] == ["B", "A"]
    assert payload["notFoundIds"] == [MISSING_ID, foreign["id"], "not-an-id"]
    # The other workspace's tag is untouched.
    seen = (await gql("query($id: ID!) { tag(id: $id) { archived } }", foreign)).ok()
    assert seen == {"tag": {"archived": False}}


@pytest.mark.parametrize("count", [0, 101])
async def test_ids_outside_1_to_100_are_validation_and_change_nothing(
    gql: Executor, store: Store, count: int
) -> None:
    tag = await create_tag(gql, "Counted")
    before = await raw_snapshot(store)
    for mutation, field in ((ARCHIVE, "archiveTags"), (RESTORE, "restoreTags")):
        ids = [tag["id"]] * count
        result = await gql(mutation, {"input": {"workspaceId": WS, "ids": ids}})
        payload = result.ok()[field]
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("VALIDATION", ["ids"])]
        assert payload["tags"] == [] and payload["notFoundIds"] == []
        assert result.round_trips == 0
    assert await raw_snapshot(store) == before


async def test_a_hundred_ids_take_the_same_round_trips_as_one(gql: Executor) -> None:
    made = (
        await gql(
            "mutation($i: CreateTagsInput!) { createTags(input: $i) { tags { id } } }",
            {"i": {"workspaceId": WS, "tags": [{"name": f"Bulk {n}"} for n in range(100)]}},
        )
    ).ok()["createTags"]["tags"]
    ids = [t["id"] for t in made]
    archived = await gql(ARCHIVE, {"input": {"workspaceId": WS, "ids": ids}})
    assert len(archived.ok()["archiveTags"]["tags"]) == 100
    assert archived.round_trips == 5
    restored = await gql(RESTORE, {"input": {"workspaceId": WS, "ids": ids}})
    assert {t["archived"] for t in restored.ok()["restoreTags"]["tags"]} == {False}
    assert restored.round_trips == 5


async def test_the_worst_case_of_an_archive_payload_is_its_100_tags(gql: Executor) -> None:
    result = await gql(
        'mutation { archiveTags(input: {workspaceId: "ws-main", ids: ["x"]}) { tags { id } } }'
    )
    assert result.ok()["archiveTags"] == {"tags": []}
    # The payload and at most 100 tags (MAX_ARCHIVE_IDS), not the 500 of other lists.
    assert result.extensions["cost"]["maxObjects"] == 1 + 100


async def test_children_are_not_archived_with_their_parent(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    child = await create_tag(gql, "Child", parentId=parent["id"])
    await archive(gql, [parent["id"]])
    tree = (
        await gql("query($id: ID!) { tag(id: $id) { archived parent { name archived } } }", child)
    ).ok()["tag"]
    assert tree == {"archived": False, "parent": {"name": "Parent", "archived": True}}
    assert await names(gql) == ["Child"]


# Still found, names still taken ---------------------------------------------------------


FOUND_EVERYWHERE = """
query($ws: ID!, $id: ID!, $parent: ID!) {
  tag(id: $id) { archived usageCount parent { name } resources { totalCount } }
  node(id: $id) { ... on Tag { archived } }
  nodes(ids: [$id]) { ... on Tag { archived } }
  tagBySlug(workspaceId: $ws, slug: "kubernetes") { archived aliases }
  tagByName(workspaceId: $ws, name: "K8S") { archived }
  similarTags(workspaceId: $ws, name: "Kubernetis") { name archived }
  resourceTags(workspaceId: $ws, resource: {type: "task", id: "1"}) { archived }
  taggedResources(workspaceId: $ws, tagIds: [$id]) { totalCount }
  parent: tag(id: $parent) { childCount children { name archived } }
}
"""


async def test_an_archived_tag_is_still_found_everywhere_but_in_tags(gql: Executor) -> None:
    parent = await create_tag(gql, "Topics")
    tag = await create_tag(gql, "Kubernetes", parentId=parent["id"], aliases=["k8s"])
    await tag_resources(gql, [tag["id"]], [("task", "1"), ("file", "2")])
    await archive(gql, [tag["id"]])
    variables = {"ws": WS, "id": tag["id"], "parent": parent["id"]}
    found = (await gql(FOUND_EVERYWHERE, variables)).ok()
    assert found["tag"] == {
        "archived": True,
        "usageCount": 2,
        "parent": {"name": "Topics"},
        "resources": {"totalCount": 2},
    }
    assert found["node"] == {"archived": True} and found["nodes"] == [{"archived": True}]
    assert found["tagBySlug"] == {"archived": True, "aliases": ["k8s"]}
    assert found["tagByName"] == {"archived": True}
    assert found["similarTags"] == [{"name": "Kubernetes", "archived": True}]
    assert found["resourceTags"] == [{"archived": True}]
    assert found["taggedResources"] == {"totalCount": 2}
    # Its place in the tree is kept.
    assert found["parent"] == {
        "childCount": 1,
        "children": [{"name": "Kubernetes", "archived": True}],
    }
    assert await names(gql) == ["Topics"]


async def test_an_archived_tags_name_and_aliases_stay_taken(gql: Executor) -> None:
    tag = await create_tag(gql, "Retired", aliases=["Old"])
    await archive(gql, [tag["id"]])
    for name in ("retired", "OLD"):
        result = await gql(
            "mutation($i: CreateTagInput!) { createTag(input: $i) "
            "{ tag { id } userErrors { code field } } }",
            {"i": {"workspaceId": WS, "name": name}},
        )
        assert result.ok()["createTag"] == {
            "tag": None,
            "userErrors": [{"code": "NAME_TAKEN", "field": ["name"]}],
        }


async def test_an_archived_tag_can_be_renamed_and_stays_archived(gql: Executor) -> None:
    tag = await create_tag(gql, "Renamable")
    [archived] = (await archive(gql, [tag["id"]]))["tags"]
    renamed = (
        await gql(
            "mutation($i: UpdateTagInput!) { updateTag(input: $i) "
            "{ tag { name archived archivedAt } userErrors { code } } }",
            {"i": {"id": tag["id"], "name": "Renamed"}},
        )
    ).ok()["updateTag"]
    assert renamed == {
        "tag": {"name": "Renamed", "archived": True, "archivedAt": archived["archivedAt"]},
        "userErrors": [],
    }


# Lists --------------------------------------------------------------------------------


async def _mixed_workspace(gql: Executor) -> dict[str, str]:
    """Ten tags, every other one archived, with usage, a parent and a search term."""
    root = await create_tag(gql, "Root")
    ids: dict[str, str] = {"Root": root["id"]}
    for n in range(10):
        tag = await create_tag(gql, f"Tag {n}", parentId=root["id"] if n % 3 == 0 else None)
        ids[tag["name"]] = tag["id"]
        if n % 4 == 1:
            await tag_resources(gql, [tag["id"]], [("task", str(n)), ("task", "x")])
    await archive(gql, [ids[f"Tag {n}"] for n in range(10) if n % 2])
    return ids


async def _walk(gql: Executor, tag_filter: dict[str, Any], order: dict[str, str]) -> list[str]:
    """Every page of size 2 forwards; totalCount checked on every page."""
    seen: list[str] = []
    after = None
    total = len(await _all(gql, tag_filter, order))
    while True:
        variables = {"ws": WS, "filter": tag_filter, "order": order, "first": 2, "after": after}
        page = (await gql(LIST, variables)).ok()["tags"]
        seen += [n["name"] for n in page["nodes"]]
        assert page["totalCount"] == total
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


async def _all(gql: Executor, tag_filter: dict[str, Any], order: dict[str, str]) -> list[str]:
    variables = {"ws": WS, "filter": tag_filter, "order": order, "first": 100}
    return [n["name"] for n in (await gql(LIST, variables)).ok()["tags"]["nodes"]]


async def _walk_back(gql: Executor, tag_filter: dict[str, Any], order: dict[str, str]) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        variables = {"ws": WS, "filter": tag_filter, "order": order, "last": 3, "before": before}
        page = (await gql(LIST, variables)).ok()["tags"]
        seen = [n["name"] for n in page["nodes"]] + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            return seen
        before = page["pageInfo"]["startCursor"]


ORDERS = [
    {"field": "NAME", "direction": "ASC"},
    {"field": "NAME", "direction": "DESC"},
    {"field": "CREATED_AT", "direction": "ASC"},
    {"field": "UPDATED_AT", "direction": "DESC"},
    {"field": "USAGE_COUNT", "direction": "DESC"},
]


async def test_the_archived_filter_pages_and_counts_exactly(gql: Executor) -> None:
    ids = await _mixed_workspace(gql)
    odd = {f"Tag {n}" for n in range(10) if n % 2}
    everything = set(ids)
    expected: list[tuple[dict[str, Any], set[str]]] = [
        ({}, everything - odd),
        ({"archived": False}, everything - odd),
        ({"archived": True}, odd),
        ({"archived": None}, everything),
        ({"archived": True, "parentId": ids["Root"]}, {"Tag 3", "Tag 9"}),
        ({"parentId": ids["Root"]}, {"Tag 0", "Tag 6"}),
        ({"archived": True, "search": "tag 1"}, {"Tag 1"}),
        (
            {"archived": None, "isRoot": True, "search": "tag"},
            {f"Tag {n}" for n in (1, 2, 4, 5, 7, 8)},
        ),
    ]
    for tag_filter, wanted in expected:
        for order in ORDERS:
            forwards = await _walk(gql, tag_filter, order)
            assert set(forwards) == wanted and len(forwards) == len(wanted), (tag_filter, order)
            assert await _walk_back(gql, tag_filter, order) == forwards, (tag_filter, order)


async def test_relevance_order_honours_the_archived_filter(gql: Executor) -> None:
    await _mixed_workspace(gql)
    order = {"field": "RELEVANCE", "direction": "ASC"}
    live = await _walk(gql, {"search": "tag 1"}, order)
    assert live == []  # Tag 1 is archived
    assert await _walk(gql, {"search": "tag 1", "archived": True}, order) == ["Tag 1"]
    # Every name starts with the search: most used first (1, 5, 9), then by name.
    assert await _walk(gql, {"search": "tag", "archived": None}, order) == [
        f"Tag {n}" for n in (1, 5, 9, 0, 2, 3, 4, 6, 7, 8)
    ]


async def test_a_list_of_archived_tags_costs_what_any_list_costs(gql: Executor) -> None:
    await _mixed_workspace(gql)
    for tag_filter in ({}, {"archived": True}, {"archived": None}):
        result = await gql(LIST, {"ws": WS, "filter": tag_filter, "first": 2})
        # The page (one more read than shown tells hasNextPage), and totalCount.
        assert result.round_trips == 2, tag_filter


# Cannot be applied ------------------------------------------------------------------


def _codes(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_an_archived_tag_cannot_be_applied_by_id_or_name(gql: Executor, store: Store) -> None:
    live = await create_tag(gql, "Live")
    old = await create_tag(gql, "Old", aliases=["Ancient"])
    await archive(gql, [old["id"]])
    before = await raw_snapshot(store)
    resources = [{"type": "task", "id": "7"}]
    cases: list[tuple[dict[str, Any], list[tuple[str, list[str] | None]]]] = [
        ({"tagIds": [live["id"], old["id"]]}, [("VALIDATION", ["tagIds", "1"])]),
        ({"tagNames": ["live", "OLD"]}, [("VALIDATION", ["tagNames", "1"])]),
        # An alias names it too; createMissing does not make a second tag.
        ({"tagNames": ["ancient"], "createMissing": True}, [("VALIDATION", ["tagNames", "0"])]),
        (
            {"tagIds": [old["id"]], "tagNames": ["Brand new", "Old"], "createMissing": True},
            [("VALIDATION", ["tagIds", "0"]), ("VALIDATION", ["tagNames", "1"])],
        ),
    ]
    for given, errors in cases:
        variables = {"input": {"workspaceId": WS, "resources": resources, **given}}
        payload = (await gql(ADD_TAGS, variables)).ok()["addTagsToResources"]
        assert _codes(payload) == errors, given
        assert payload["resources"] == [] and payload["createdTags"] == []
        assert all("archived" in e["message"] for e in payload["userErrors"])
    assert await raw_snapshot(store) == before


async def test_set_resource_tags_keeps_an_archived_tag_but_does_not_add_one(
    gql: Executor, store: Store
) -> None:
    kept, other, live = [await create_tag(gql, n) for n in ("Kept", "Other", "Live")]
    await tag_resources(gql, [kept["id"]], [("task", "1")])
    await archive(gql, [kept["id"], other["id"]])
    before = await raw_snapshot(store)
    refused = await gql(
        SET,
        {
            "input": {
                "workspaceId": WS,
                "resource": {"type": "task", "id": "1"},
                "tagIds": [kept["id"], other["id"]],
            }
        },
    )
    assert _codes(refused.ok()["setResourceTags"]) == [("VALIDATION", ["tagIds", "1"])]
    assert await raw_snapshot(store) == before
    # What a multi-select sends on save: the archived tag it shows, plus a new one.
    saved = await gql(
        SET,
        {
            "input": {
                "workspaceId": WS,
                "resource": {"type": "task", "id": "1"},
                "tagIds": [kept["id"], live["id"]],
            }
        },
    )
    payload = saved.ok()["setResourceTags"]
    assert payload["userErrors"] == [] and payload["addedCount"] == 1
    assert payload["resource"]["tags"] == [{"name": "Kept"}, {"name": "Live"}]


async def test_an_archived_tag_can_still_be_removed_and_deleted(gql: Executor) -> None:
    tag = await create_tag(gql, "Leaving")
    await tag_resources(gql, [tag["id"]], [("task", "1"), ("task", "2")])
    await archive(gql, [tag["id"]])
    removed = await gql(
        REMOVE,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "1"}],
                "tagIds": [tag["id"]],
            }
        },
    )
    assert removed.ok()["removeTagsFromResources"] == {"removedCount": 1, "userErrors": []}
    deleted = await gql(
        "mutation($i: DeleteTagInput!) { deleteTag(input: $i) { deletedTagIds } }",
        {"i": {"id": tag["id"]}},
    )
    assert deleted.ok()["deleteTag"]["deletedTagIds"] == [tag["id"]]


async def test_merging_into_an_archived_tag_is_refused_but_from_one_is_not(
    gql: Executor, store: Store
) -> None:
    target, source = await create_tag(gql, "Target"), await create_tag(gql, "Source")
    await tag_resources(gql, [source["id"]], [("task", "1")])
    await archive(gql, [target["id"]])
    before = await raw_snapshot(store)
    variables = {"input": {"targetId": target["id"], "sourceIds": [source["id"]]}}
    payload = (await gql(MERGE, variables)).ok()["mergeTags"]
    assert _codes(payload) == [("VALIDATION", ["targetId"])]
    assert await raw_snapshot(store) == before

    await restore(gql, [target["id"]])
    await archive(gql, [source["id"]])
    merged = (await gql(MERGE, variables)).ok()["mergeTags"]
    assert merged["userErrors"] == [] and merged["mergedTagIds"] == [source["id"]]
    assert merged["tag"]["aliases"] == ["Source"]


async def test_a_tag_archived_while_a_request_writes_is_taken_back(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tag passed the request's check, then another request archived it before
    the associations were re-read: what was written is taken back."""
    tag = await create_tag(gql, "Racing")
    before = await raw_snapshot(store)
    insert = type(store.taggings).insert
    at = datetime(2030, 1, 1)

    async def insert_then_archived_elsewhere(self: Any, docs: Any) -> Any:
        written = await insert(self, docs)
        await store.tags.set_archived(AuthorizedWorkspace(WS), [tag["id"]], True, at, "elsewhere")
        return written

    monkeypatch.setattr(type(store.taggings), "insert", insert_then_archived_elsewhere)
    variables = {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": "1"}, {"type": "task", "id": "2"}],
            "tagIds": [tag["id"]],
        }
    }
    payload = (await gql(ADD_TAGS, variables)).ok()["addTagsToResources"]
    assert _codes(payload) == [("VALIDATION", None)]
    monkeypatch.undo()
    after = await raw_snapshot(store)
    assert after["taggings"] == before["taggings"] == []
    [doc] = after["tags"]
    assert doc["usage"] == 0 and doc["archived"] is True


# Events -----------------------------------------------------------------------------


class RecordingBus(LocalBus):
    """Keeps what mutations publish."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[TagEventRecord] = []

    async def publish(self, events: Sequence[TagEventRecord]) -> None:
        self.published.extend(events)
        await super().publish(events)


async def _run(
    schema: TagsSchema, store: Store, bus: LocalBus, query: str, variables: dict[str, Any]
) -> Any:
    context = make_context(None, DEV_PRINCIPAL, store, bus=bus)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    return result.data


async def test_archive_and_restore_publish_one_event_per_changed_tag(
    gql: Executor, schema: TagsSchema, store: Store
) -> None:
    a, b = await create_tag(gql, "A"), await create_tag(gql, "B")
    bus = RecordingBus()
    stream: Any = await schema.subscribe(
        "subscription($ws: ID!) { tagEvents(workspaceId: $ws) "
        "{ kind tagId tag { name archived archivedAt } } }",
        variable_values={"ws": WS},
        context_value=make_context(None, DEV_PRINCIPAL, store, bus=bus),
    )
    first = asyncio.ensure_future(stream.__anext__())
    while bus.subscriber_count(WS) == 0:
        await asyncio.sleep(0)

    await _run(schema, store, bus, ARCHIVE, {"input": {"workspaceId": WS, "ids": [a["id"]]}})
    # b is new, a already archived: one event.
    both = {"input": {"workspaceId": WS, "ids": [a["id"], b["id"]]}}
    await _run(schema, store, bus, ARCHIVE, both)
    await _run(schema, store, bus, RESTORE, both)
    # Refused (too many ids) and no-op: nothing.
    await _run(schema, store, bus, RESTORE, {"input": {"workspaceId": WS, "ids": []}})
    await _run(schema, store, bus, RESTORE, both)
    assert [(e.kind, e.tag_id) for e in bus.published] == [
        (TagEventKind.ARCHIVED, a["id"]),
        (TagEventKind.ARCHIVED, b["id"]),
        (TagEventKind.RESTORED, a["id"]),
        (TagEventKind.RESTORED, b["id"]),
    ]
    received = [(await first).data["tagEvents"]]
    for _ in range(3):
        received.append((await stream.__anext__()).data["tagEvents"])
    await stream.aclose()
    assert [(e["kind"], e["tag"]["name"]) for e in received] == [
        ("ARCHIVED", "A"),
        ("ARCHIVED", "B"),
        ("RESTORED", "A"),
        ("RESTORED", "B"),
    ]
    # Each event shows the tag as it is when delivered (restored by then).
    assert {e["tag"]["archived"] for e in received} <= {True, False}


CONCURRENCY = 12


@pytest.mark.usefixtures("interleaved")
async def test_concurrent_archives_of_overlapping_tags_change_each_once(
    gql: Executor, schema: TagsSchema, store: Store
) -> None:
    tags = [(await create_tag(gql, f"Contested {n}"))["id"] for n in range(4)]
    # Each request names three of the four: every pair of requests overlaps, so a
    # request changes some of its tags and finds others changed by another.
    subsets = [[tags[(i + k) % 4] for k in range(3)] for i in range(CONCURRENCY)]
    for mutation, kind in ((ARCHIVE, TagEventKind.ARCHIVED), (RESTORE, TagEventKind.RESTORED)):
        bus = RecordingBus()
        results = await asyncio.gather(
            *(
                _run(schema, store, bus, mutation, {"input": {"workspaceId": WS, "ids": ids}})
                for ids in subsets
            )
        )
        payloads = [next(iter(r.values())) for r in results]
        assert all(not p["userErrors"] for p in payloads)
        # Every payload shows its tags as they are now: all in the new state.
        assert {t["archived"] for p in payloads for t in p["tags"]} == {
            kind is TagEventKind.ARCHIVED
        }
        # However the requests interleave, each tag changed once: one event each.
        assert sorted((e.kind, e.tag_id) for e in bus.published) == sorted((kind, t) for t in tags)


async def test_the_archived_message_comes_in_the_requests_language(
    gql: Executor, schema: TagsSchema, store: Store
) -> None:
    tag = await create_tag(gql, "Sprache")
    await archive(gql, [tag["id"]])
    variables = {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": "1"}],
            "tagIds": [tag["id"]],
        }
    }
    context = make_context(None, DEV_PRINCIPAL, store, language="de")
    result = await schema.execute(ADD_TAGS, variable_values=variables, context_value=context)
    assert result.errors is None and result.data is not None
    [error] = result.data["addTagsToResources"]["userErrors"]
    assert error["code"] == "VALIDATION" and "archiviert" in error["message"], error
