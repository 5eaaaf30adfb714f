"""Batch operations: createTags, deleteTags and mergeTags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Executor
from tests.helpers import OTHER_WS, WS, create_tag, tag_resources

UNKNOWN_ID = "tag_" + "0" * 24

CREATE_TAGS = """
mutation CreateMany($input: CreateTagsInput!) {
  createTags(input: $input) {
    tags { id name slug color depth parent { id } }
    userErrors { code field message }
    clientMutationId
  }
}
"""

DELETE_TAGS = """
mutation DeleteMany($input: DeleteTagsInput!) {
  deleteTags(input: $input) {
    deletedCount deletedIds notFoundIds
    userErrors { code field message }
  }
}
"""

MERGE = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) {
    tag { id name slug color depth parent { id } ancestors { id } childCount usageCount }
    mergedTagIds
    movedTaggingsCount
    userErrors { code field message }
  }
}
"""

TREE = """
query Tree($id: ID!) {
  tag(id: $id) {
    id name depth usageCount childCount
    parent { id }
    ancestors { id }
    children { id }
  }
}
"""

ALL_TAGS = """
query All($ws: ID!) {
  tags(workspaceId: $ws, first: 100) { nodes { name slug } totalCount }
}
"""

CHILDREN_OF = """
query ChildrenOf($ws: ID!, $parent: ID!) {
  tags(workspaceId: $ws, filter: {parentId: $parent}) { totalCount }
}
"""

RESOURCE_TAGS = """
query ResourceTags($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) { id }
}
"""

USAGE = """
query Usage($id: ID!, $type: String) {
  tag(id: $id) { usageCount typed: usageCount(resourceType: $type) }
}
"""


# Helpers ------------------------------------------------------------------------------


async def create_many(gql: Executor, items: list[dict[str, Any]], ws: str = WS) -> dict[str, Any]:
    result = await gql(CREATE_TAGS, {"input": {"workspaceId": ws, "tags": items}})
    return result.ok()["createTags"]


async def delete_many(gql: Executor, ids: list[str], ws: str = WS) -> dict[str, Any]:
    result = await gql(DELETE_TAGS, {"input": {"workspaceId": ws, "ids": ids}})
    return result.ok()["deleteTags"]


async def merge(gql: Executor, target: str, sources: list[str]) -> dict[str, Any]:
    result = await gql(MERGE, {"input": {"targetId": target, "sourceIds": sources}})
    return result.ok()["mergeTags"]


async def tree_or_none(gql: Executor, tag_id: str) -> dict[str, Any] | None:
    return (await gql(TREE, {"id": tag_id})).ok()["tag"]


async def tree(gql: Executor, tag_id: str) -> dict[str, Any]:
    """The tree fields of a tag that must exist."""
    node = await tree_or_none(gql, tag_id)
    assert node is not None, f"tag {tag_id} is gone"
    return node


async def all_tags(gql: Executor) -> list[tuple[str, str]]:
    data = (await gql(ALL_TAGS, {"ws": WS})).ok()["tags"]
    assert data["totalCount"] == len(data["nodes"])
    return [(n["name"], n["slug"]) for n in data["nodes"]]


async def resource_tags(gql: Executor, rtype: str, rid: str) -> list[str]:
    data = (await gql(RESOURCE_TAGS, {"ws": WS, "type": rtype, "id": rid})).ok()
    return [t["id"] for t in data["resourceTags"]]


async def usage(gql: Executor, tag_id: str, rtype: str = "task") -> tuple[int, int]:
    data = (await gql(USAGE, {"id": tag_id, "type": rtype})).ok()["tag"]
    return data["usageCount"], data["typed"]


async def chain(gql: Executor, *names: str, parent_id: str | None = None) -> list[str]:
    made = []
    for name in names:
        fields = {"parentId": parent_id} if parent_id else {}
        parent_id = (await create_tag(gql, name, **fields))["id"]
        made.append(parent_id)
    return made


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return sorted(((e["code"], e["field"]) for e in payload["userErrors"]), key=repr)


def ancestor_ids(node: dict[str, Any]) -> list[str]:
    return [a["id"] for a in node["ancestors"]]


# createTags --------------------------------------------------------------------------


async def test_create_tags_in_input_order(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    payload = await create_many(
        gql,
        [
            {"name": "Zed"},
            {"name": "alpha", "slug": "first", "color": "ABCDEF"},
            {"name": "Child", "parentId": parent["id"]},
        ],
    )
    assert payload["userErrors"] == []
    tags = payload["tags"]
    assert [(t["name"], t["slug"]) for t in tags] == [
        ("Zed", "zed"),
        ("alpha", "first"),
        ("Child", "child"),
    ]
    assert tags[1]["color"] == "#abcdef"
    assert tags[2]["parent"] == {"id": parent["id"]}
    assert tags[2]["depth"] == 1
    assert (await tree(gql, parent["id"]))["childCount"] == 1
    assert len(await all_tags(gql)) == 4


async def test_create_100_tags(gql: Executor) -> None:
    payload = await create_many(gql, [{"name": f"Tag {i:03d}"} for i in range(100)])
    assert payload["userErrors"] == []
    assert [t["name"] for t in payload["tags"]] == [f"Tag {i:03d}" for i in range(100)]
    assert len({t["id"] for t in payload["tags"]}) == 100
    assert len(await all_tags(gql)) == 100


@pytest.mark.parametrize("count", [0, 101])
async def test_create_tags_count_out_of_range(gql: Executor, count: int) -> None:
    payload = await create_many(gql, [{"name": f"Tag {i}"} for i in range(count)])
    assert errors(payload) == [("VALIDATION", ["tags"])]
    assert payload["tags"] == []
    assert await all_tags(gql) == []


async def test_create_tags_is_all_or_nothing_and_reports_every_invalid_item(gql: Executor) -> None:
    payload = await create_many(
        gql,
        [
            {"name": "Fine"},
            {"name": "Bad color", "color": "red"},
            {"name": "Also fine"},
            {"name": "   "},
            {"name": "Bad slug", "slug": "Not A Slug"},
            {"name": "Bad parent", "parentId": UNKNOWN_ID},
        ],
    )
    assert payload["tags"] == []
    assert errors(payload) == sorted(
        [
            ("VALIDATION", ["tags", "1", "color"]),
            ("VALIDATION", ["tags", "3", "name"]),
            ("VALIDATION", ["tags", "4", "slug"]),
            ("NOT_FOUND", ["tags", "5", "parentId"]),
        ],
        key=repr,
    )
    assert await all_tags(gql) == []


async def test_create_tags_later_duplicate_in_batch_fails_not_the_earlier(gql: Executor) -> None:
    payload = await create_many(
        gql,
        [
            {"name": "VIP"},
            {"name": "First", "slug": "shared"},
            {"name": "vip"},
            {"name": "Second", "slug": "shared"},
            {"name": "Third"},
        ],
    )
    assert payload["tags"] == []
    assert errors(payload) == [
        ("NAME_TAKEN", ["tags", "2", "name"]),
        ("SLUG_TAKEN", ["tags", "3", "slug"]),
    ]
    assert await all_tags(gql) == []


async def test_create_tags_generated_slugs_get_suffixes_within_batch(gql: Executor) -> None:
    await create_tag(gql, "Bug")
    payload = await create_many(
        gql,
        [
            {"name": "Bug / Issue"},
            {"name": "bug issue"},
            {"name": "BUG: issue!"},
            {"name": "Bug!"},
            {"name": "Explicit", "slug": "bug-2"},
        ],
    )
    assert payload["userErrors"] == []
    assert [t["slug"] for t in payload["tags"]] == [
        "bug-issue",
        "bug-issue-2",
        "bug-issue-3",
        "bug-3",
        "bug-2",
    ]


async def test_create_tags_conflicts_with_existing_tags_reported_per_item(gql: Executor) -> None:
    await create_tag(gql, "Alpha")
    await create_tag(gql, "Beta")
    payload = await create_many(
        gql,
        [
            {"name": "ALPHA"},
            {"name": "New", "slug": "beta"},
            {"name": "Fine"},
            {"name": "beta"},
        ],
    )
    assert payload["tags"] == []
    assert errors(payload) == [
        ("NAME_TAKEN", ["tags", "0", "name"]),
        ("NAME_TAKEN", ["tags", "3", "name"]),
        ("SLUG_TAKEN", ["tags", "1", "slug"]),
    ]
    assert await all_tags(gql) == [("Alpha", "alpha"), ("Beta", "beta")]


async def test_create_tags_reports_invalid_and_conflicting_items_together(gql: Executor) -> None:
    await create_tag(gql, "Existing")
    payload = await create_many(
        gql,
        [
            {"name": "Bad", "color": "nope"},
            {"name": "existing"},
            {"name": "Ok"},
            {"name": "ok"},
        ],
    )
    assert payload["tags"] == []
    assert errors(payload) == [
        ("NAME_TAKEN", ["tags", "1", "name"]),
        ("NAME_TAKEN", ["tags", "3", "name"]),
        ("VALIDATION", ["tags", "0", "color"]),
    ]
    assert await all_tags(gql) == [("Existing", "existing")]


async def test_create_tags_depth_exceeded_per_item(gql: Executor) -> None:
    ids = await chain(gql, "L0", "L1", "L2", "L3", "L4")
    payload = await create_many(
        gql, [{"name": "ok", "parentId": ids[3]}, {"name": "too deep", "parentId": ids[4]}]
    )
    assert errors(payload) == [("DEPTH_EXCEEDED", ["tags", "1", "parentId"])]
    assert (await tree(gql, ids[3]))["childCount"] == 1


# deleteTags --------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
async def test_delete_tags_moves_children_up_past_deleted_ancestors(
    gql: Executor, reverse: bool
) -> None:
    a, b, c, d, e = await chain(gql, "A", "B", "C", "D", "E")
    other = (await create_tag(gql, "Other", workspace=OTHER_WS))["id"]
    await tag_resources(gql, [b, c, d], [("task", "1")])
    wanted = [b, "garbage", d, UNKNOWN_ID, other, b]
    if reverse:
        wanted.reverse()

    payload = await delete_many(gql, wanted)
    assert payload["userErrors"] == []
    assert payload["deletedCount"] == 2
    assert sorted(payload["deletedIds"]) == sorted([b, d])
    assert sorted(payload["notFoundIds"]) == sorted(["garbage", UNKNOWN_ID, other])

    assert await tree_or_none(gql, b) is None
    assert await tree_or_none(gql, d) is None
    node_c = await tree(gql, c)
    assert node_c["parent"] == {"id": a}
    assert node_c["depth"] == 1
    assert ancestor_ids(node_c) == [a]
    node_e = await tree(gql, e)
    assert node_e["parent"] == {"id": c}
    assert node_e["depth"] == 2
    assert ancestor_ids(node_e) == [a, c]
    assert [ch["id"] for ch in (await tree(gql, a))["children"]] == [c]
    assert await resource_tags(gql, "task", "1") == [c]
    assert await usage(gql, c) == (1, 1)
    # The other workspace's tag is untouched.
    assert await tree_or_none(gql, other) is not None


@pytest.mark.parametrize("reverse", [False, True])
async def test_delete_tags_parent_and_child_together(gql: Executor, reverse: bool) -> None:
    r, a, b, c, d = await chain(gql, "R", "A", "B", "C", "D")
    wanted = [b, a] if reverse else [a, b]
    payload = await delete_many(gql, wanted)
    assert payload["deletedCount"] == 2
    node_c = await tree(gql, c)
    assert node_c["parent"] == {"id": r}
    assert node_c["depth"] == 1
    assert ancestor_ids(node_c) == [r]
    node_d = await tree(gql, d)
    assert node_d["parent"] == {"id": c}
    assert ancestor_ids(node_d) == [r, c]
    assert [ch["id"] for ch in (await tree(gql, r))["children"]] == [c]
    # No tag is left pointing at a deleted parent.
    for gone in (a, b):
        data = (await gql(CHILDREN_OF, {"ws": WS, "parent": gone})).ok()["tags"]
        assert data["totalCount"] == 0


async def test_delete_tags_root_and_child_together(gql: Executor) -> None:
    a, b, c = await chain(gql, "A", "B", "C")
    keep = (await create_tag(gql, "Keep", parentId=b))["id"]
    payload = await delete_many(gql, [a, b])
    assert payload["deletedCount"] == 2
    for tag_id in (c, keep):
        node = await tree(gql, tag_id)
        assert node["parent"] is None
        assert node["depth"] == 0
        assert node["ancestors"] == []
    assert [name for name, _ in await all_tags(gql)] == ["C", "Keep"]
    for gone in (a, b):
        data = (await gql(CHILDREN_OF, {"ws": WS, "parent": gone})).ok()["tags"]
        assert data["totalCount"] == 0


@pytest.mark.parametrize("count", [0, 101])
async def test_delete_tags_count_out_of_range(gql: Executor, count: int) -> None:
    (a,) = await chain(gql, "A")
    payload = await delete_many(gql, [a] * count)
    assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"]
    assert payload["deletedCount"] == 0
    assert await tree_or_none(gql, a) is not None


async def test_delete_tags_only_unknown_ids(gql: Executor) -> None:
    payload = await delete_many(gql, [UNKNOWN_ID, "x"])
    assert payload == {
        "deletedCount": 0,
        "deletedIds": [],
        "notFoundIds": [UNKNOWN_ID, "x"],
        "userErrors": [],
    }


# mergeTags ---------------------------------------------------------------------------


async def test_merge_moves_taggings_without_duplicates(gql: Executor) -> None:
    target, s1, s2, bystander = [
        (await create_tag(gql, n))["id"] for n in ("Target", "S1", "S2", "Bystander")
    ]
    await tag_resources(gql, [s1], [("task", "1"), ("task", "2"), ("task", "3")])
    await tag_resources(gql, [s2], [("task", "3"), ("file", "4")])
    await tag_resources(gql, [target], [("task", "2"), ("task", "5")])
    await tag_resources(gql, [bystander], [("task", "1")])

    payload = await merge(gql, target, [s1, s2])
    assert payload["userErrors"] == []
    assert sorted(payload["mergedTagIds"]) == sorted([s1, s2])
    # task:1, task:3 and file:4 gained the target; task:2 already had it.
    assert payload["movedTaggingsCount"] == 3
    tag = payload["tag"]
    assert (tag["id"], tag["name"], tag["slug"]) == (target, "Target", "target")
    assert tag["usageCount"] == 5

    assert await tree_or_none(gql, s1) is None
    assert await tree_or_none(gql, s2) is None
    assert sorted(await resource_tags(gql, "task", "1")) == sorted([target, bystander])
    for rtype, rid in (("task", "2"), ("task", "3"), ("file", "4"), ("task", "5")):
        assert await resource_tags(gql, rtype, rid) == [target], (rtype, rid)
    assert await usage(gql, target) == (5, 4)
    assert await usage(gql, target, "file") == (5, 1)
    assert await usage(gql, bystander) == (1, 1)
    assert [name for name, _ in await all_tags(gql)] == ["Bystander", "Target"]


async def test_merge_moves_children_of_sources_under_target(gql: Executor) -> None:
    root, target = await chain(gql, "Root", "Target")
    own_child = (await create_tag(gql, "Own", parentId=target))["id"]
    s1, c1, g1 = await chain(gql, "S1", "C1", "G1")
    (s2,) = await chain(gql, "S2", parent_id=root)
    c2 = (await create_tag(gql, "C2", parentId=s2))["id"]

    payload = await merge(gql, target, [s1, s2])
    assert payload["userErrors"] == []
    tag = payload["tag"]
    assert tag["parent"] == {"id": root}
    assert tag["depth"] == 1
    assert tag["childCount"] == 3

    node = await tree(gql, target)
    assert [ch["id"] for ch in node["children"]] == [c1, c2, own_child]
    for child in (c1, c2, own_child):
        child_node = await tree(gql, child)
        assert child_node["depth"] == 2
        assert ancestor_ids(child_node) == [root, target]
    grandchild = await tree(gql, g1)
    assert grandchild["depth"] == 3
    assert ancestor_ids(grandchild) == [root, target, c1]
    assert [ch["id"] for ch in (await tree(gql, root))["children"]] == [target]


async def test_merge_target_below_a_source_moves_up_to_nearest_kept_ancestor(gql: Executor) -> None:
    root, s_top, s_mid, target, below = await chain(gql, "Root", "STop", "SMid", "Target", "Below")
    sibling = (await create_tag(gql, "Sibling", parentId=s_top))["id"]
    payload = await merge(gql, target, [s_mid, s_top])
    assert payload["userErrors"] == []
    assert payload["tag"]["parent"] == {"id": root}
    assert payload["tag"]["depth"] == 1
    assert [a["id"] for a in payload["tag"]["ancestors"]] == [root]

    for child in (below, sibling):
        node = await tree(gql, child)
        assert node["parent"] == {"id": target}
        assert node["depth"] == 2
        assert ancestor_ids(node) == [root, target]
    assert [ch["id"] for ch in (await tree(gql, root))["children"]] == [target]


async def test_merge_target_below_a_root_source_becomes_root(gql: Executor) -> None:
    source, target = await chain(gql, "Source", "Target")
    payload = await merge(gql, target, [source])
    assert payload["userErrors"] == []
    assert payload["tag"]["parent"] is None
    assert payload["tag"]["depth"] == 0
    assert payload["tag"]["ancestors"] == []


async def test_merge_target_below_a_kept_child_of_a_source(gql: Executor) -> None:
    # Source > Middle > Target: Middle cannot go under Target (a cycle); it moves up instead.
    source, middle, target = await chain(gql, "Source", "Middle", "Target")
    other_child = (await create_tag(gql, "Other", parentId=source))["id"]
    payload = await merge(gql, target, [source])
    assert payload["userErrors"] == []
    node_middle = await tree(gql, middle)
    assert node_middle["parent"] is None
    assert node_middle["depth"] == 0
    node_target = await tree(gql, target)
    assert node_target["parent"] == {"id": middle}
    assert node_target["depth"] == 1
    node_other = await tree(gql, other_child)
    assert node_other["parent"] == {"id": target}
    assert ancestor_ids(node_other) == [middle, target]


async def test_merge_source_below_target(gql: Executor) -> None:
    target, source, child = await chain(gql, "Target", "Source", "Child")
    await tag_resources(gql, [source], [("task", "1")])
    payload = await merge(gql, target, [source])
    assert payload["userErrors"] == []
    assert payload["movedTaggingsCount"] == 1
    node = await tree(gql, child)
    assert node["parent"] == {"id": target}
    assert node["depth"] == 1
    assert await resource_tags(gql, "task", "1") == [target]


async def test_merge_target_among_sources_is_validation(gql: Executor) -> None:
    target, source = await chain(gql, "Target", "Source")
    payload = await merge(gql, target, [source, target])
    assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"]
    assert payload["tag"] is None
    assert payload["mergedTagIds"] == []
    assert await tree_or_none(gql, source) is not None


@pytest.mark.parametrize("count", [0, 51])
async def test_merge_source_count_out_of_range(gql: Executor, count: int) -> None:
    (target,) = await chain(gql, "Target")
    sources = [(await create_tag(gql, f"S{i}"))["id"] for i in range(count)]
    payload = await merge(gql, target, sources)
    assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"]
    assert payload["tag"] is None
    assert len(await all_tags(gql)) == count + 1


async def test_merge_50_sources(gql: Executor) -> None:
    (target,) = await chain(gql, "Target")
    payload = await create_many(gql, [{"name": f"S{i}"} for i in range(50)])
    sources = [t["id"] for t in payload["tags"]]
    for i, source in enumerate(sources):
        await tag_resources(gql, [source], [("task", str(i % 10))])
    payload = await merge(gql, target, sources)
    assert payload["userErrors"] == []
    assert len(payload["mergedTagIds"]) == 50
    assert payload["movedTaggingsCount"] == 10
    assert payload["tag"]["usageCount"] == 10
    assert [name for name, _ in await all_tags(gql)] == ["Target"]


@pytest.mark.parametrize("kind", ["unknown", "malformed", "other-workspace"])
async def test_merge_unknown_source_is_not_found(gql: Executor, kind: str) -> None:
    target, s1 = await chain(gql, "Target", "S1")
    await tag_resources(gql, [s1], [("task", "1")])
    if kind == "unknown":
        bad = UNKNOWN_ID
    elif kind == "malformed":
        bad = "bad"
    else:
        bad = (await create_tag(gql, "Elsewhere", workspace=OTHER_WS))["id"]
    payload = await merge(gql, target, [s1, bad])
    assert errors(payload) == [("NOT_FOUND", ["sourceIds", "1"])]
    assert payload["tag"] is None
    assert payload["movedTaggingsCount"] == 0
    assert await tree_or_none(gql, s1) is not None
    assert await resource_tags(gql, "task", "1") == [s1]
    assert await usage(gql, target) == (0, 0)


async def test_merge_unknown_target_is_not_found(gql: Executor) -> None:
    (source,) = await chain(gql, "Source")
    payload = await merge(gql, UNKNOWN_ID, [source])
    assert errors(payload) == [("NOT_FOUND", ["targetId"])]
    assert await tree_or_none(gql, source) is not None


async def test_merge_too_deep_is_depth_exceeded_and_changes_nothing(gql: Executor) -> None:
    *_, target = await chain(gql, "A", "B", "C", "Target")  # target at depth 3
    source, child, grandchild = await chain(gql, "Source", "Child", "Grandchild")
    await tag_resources(gql, [source], [("task", "1")])

    payload = await merge(gql, target, [source])
    assert errors(payload) == [("DEPTH_EXCEEDED", ["sourceIds"])]
    assert payload["tag"] is None
    assert payload["mergedTagIds"] == []

    assert (await tree(gql, source))["usageCount"] == 1
    node = await tree(gql, child)
    assert node["parent"] == {"id": source}
    assert node["depth"] == 1
    assert (await tree(gql, grandchild))["depth"] == 2
    assert await resource_tags(gql, "task", "1") == [source]
    assert await usage(gql, target) == (0, 0)
    assert (await tree(gql, target))["childCount"] == 0

    # One level less fits exactly: the grandchild lands on depth 4.
    (shallow_source,) = await chain(gql, "Shallow")
    leaf = (await create_tag(gql, "Leaf", parentId=shallow_source))["id"]
    payload = await merge(gql, target, [shallow_source])
    assert payload["userErrors"] == []
    assert (await tree(gql, leaf))["depth"] == 4


async def test_merge_into_target_on_a_full_resource(gql: Executor) -> None:
    """A resource at the 100-tag limit carrying a source but not the target ends up
    with the target instead: still 100 tags, so the merge must go through."""
    payload = await create_many(gql, [{"name": f"T{i:03d}"} for i in range(100)])
    ids = [t["id"] for t in payload["tags"]]
    (target,) = await chain(gql, "Target")
    await tag_resources(gql, ids, [("task", "full")])

    payload = await merge(gql, target, [ids[0]])
    assert payload["userErrors"] == []
    assert payload["movedTaggingsCount"] == 1
    carried = await resource_tags(gql, "task", "full")
    assert len(carried) == 100
    assert target in carried
    assert ids[0] not in carried
    assert await usage(gql, target) == (1, 1)
    assert await tree_or_none(gql, ids[0]) is None
