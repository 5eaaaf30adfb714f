"""Tag hierarchy: parents, ancestors, children, depth, re-parenting, tree filters, deletes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Executor
from tests.helpers import (
    CREATE_TAG,
    DELETE_TAG,
    OTHER_WS,
    UPDATE_TAG,
    WS,
    create_tag,
    tag_resources,
)

UNKNOWN_ID = "tag_" + "0" * 24

TREE = """
query Tree($id: ID!) {
  tag(id: $id) {
    id name depth childCount
    parent { id }
    ancestors { id depth }
    children { id name }
  }
}
"""

CHILDREN_FIRST = """
query Children($id: ID!, $first: Int) {
  tag(id: $id) { children(first: $first) { name } childCount }
}
"""

CHILDREN_DEFAULT = """
query ChildrenDefault($id: ID!) {
  tag(id: $id) { children { name } }
}
"""

TAGS_FILTERED = """
query Filtered($ws: ID!, $filter: TagFilter, $first: Int) {
  tags(workspaceId: $ws, filter: $filter, first: $first) {
    nodes { id name }
    totalCount
  }
}
"""

RESOURCE_TAGS = """
query ResourceTags($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) { id }
}
"""

USAGE = """
query Usage($id: ID!) { tag(id: $id) { usageCount } }
"""


# Helpers ----------------------------------------------------------------------


async def tree_or_none(gql: Executor, tag_id: str) -> dict[str, Any] | None:
    return (await gql(TREE, {"id": tag_id})).ok()["tag"]


async def tree(gql: Executor, tag_id: str) -> dict[str, Any]:
    """The tree fields of a tag that must exist."""
    node = await tree_or_none(gql, tag_id)
    assert node is not None, f"tag {tag_id} is gone"
    return node


async def chain(gql: Executor, *names: str, parent_id: str | None = None) -> list[dict[str, Any]]:
    """Create names[0] > names[1] > ... (each the child of the one before)."""
    made = []
    for name in names:
        fields = {"parentId": parent_id} if parent_id else {}
        tag = await create_tag(gql, name, **fields)
        made.append(tag)
        parent_id = tag["id"]
    return made


async def move(gql: Executor, tag_id: str, parent_id: str | None) -> dict[str, Any]:
    result = await gql(UPDATE_TAG, {"input": {"id": tag_id, "parentId": parent_id}})
    return result.ok()["updateTag"]


async def delete(gql: Executor, tag_id: str, descendants: bool = False) -> dict[str, Any]:
    result = await gql(DELETE_TAG, {"input": {"id": tag_id, "deleteDescendants": descendants}})
    return result.ok()["deleteTag"]


async def filtered(gql: Executor, flt: dict[str, Any]) -> tuple[list[str], int]:
    data = (await gql(TAGS_FILTERED, {"ws": WS, "filter": flt, "first": 100})).ok()["tags"]
    return [n["name"] for n in data["nodes"]], data["totalCount"]


def ids(tags: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in tags]


def codes_and_fields(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


# parentId on create --------------------------------------------------------------


async def test_create_with_parent_sets_parent_depth_and_ancestors_root_first(gql: Executor) -> None:
    a, b, c, d, e = await chain(gql, "A", "B", "C", "D", "E")
    assert [t["depth"] for t in (a, b, c, d, e)] == [0, 1, 2, 3, 4]
    assert a["parent"] is None
    assert e["parent"] == {"id": d["id"]}

    leaf = await tree(gql, e["id"])
    assert leaf["parent"] == {"id": d["id"]}
    assert leaf["ancestors"] == [
        {"id": a["id"], "depth": 0},
        {"id": b["id"], "depth": 1},
        {"id": c["id"], "depth": 2},
        {"id": d["id"], "depth": 3},
    ]
    assert leaf["childCount"] == 0
    assert leaf["children"] == []

    root = await tree(gql, a["id"])
    assert root["parent"] is None
    assert root["ancestors"] == []
    assert root["depth"] == 0
    assert root["childCount"] == 1
    assert root["children"] == [{"id": b["id"], "name": "B"}]


async def test_create_below_depth_4_is_depth_exceeded_and_creates_nothing(gql: Executor) -> None:
    *_, deepest = await chain(gql, "L0", "L1", "L2", "L3", "L4")
    result = await gql(
        CREATE_TAG, {"input": {"workspaceId": WS, "name": "L5", "parentId": deepest["id"]}}
    )
    payload = result.ok()["createTag"]
    assert payload["tag"] is None
    assert codes_and_fields(payload) == [("DEPTH_EXCEEDED", ["parentId"])]
    assert (await tree(gql, deepest["id"]))["childCount"] == 0
    names, total = await filtered(gql, {"search": "L5"})
    assert (names, total) == ([], 0)


@pytest.mark.parametrize("kind", ["unknown", "malformed", "other-workspace"])
async def test_create_with_missing_parent_is_not_found(gql: Executor, kind: str) -> None:
    if kind == "unknown":
        parent_id = UNKNOWN_ID
    elif kind == "malformed":
        parent_id = "not-a-tag-id"
    else:
        parent_id = (await create_tag(gql, "Elsewhere", workspace=OTHER_WS))["id"]
    result = await gql(
        CREATE_TAG, {"input": {"workspaceId": WS, "name": "Orphan", "parentId": parent_id}}
    )
    payload = result.ok()["createTag"]
    assert payload["tag"] is None
    assert codes_and_fields(payload) == [("NOT_FOUND", ["parentId"])]
    assert await filtered(gql, {}) == ([], 0)


# children / childCount -------------------------------------------------------------


async def test_children_are_ordered_by_name_case_insensitively(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    for name in ["beta", "Alpha", "gamma", "Delta", "ALPHA2"]:
        await create_tag(gql, name, parentId=parent["id"])
    other_root = await create_tag(gql, "aaa-not-a-child")
    await create_tag(
        gql, "Grandchild", parentId=(await tree(gql, parent["id"]))["children"][0]["id"]
    )

    data = (await gql(CHILDREN_DEFAULT, {"id": parent["id"]})).ok()["tag"]
    assert [c["name"] for c in data["children"]] == ["Alpha", "ALPHA2", "beta", "Delta", "gamma"]

    data = (await gql(CHILDREN_FIRST, {"id": parent["id"], "first": 5})).ok()["tag"]
    assert [c["name"] for c in data["children"]] == ["Alpha", "ALPHA2", "beta", "Delta", "gamma"]
    assert data["childCount"] == 5

    data = (await gql(CHILDREN_FIRST, {"id": parent["id"], "first": 2})).ok()["tag"]
    assert [c["name"] for c in data["children"]] == ["Alpha", "ALPHA2"]
    assert data["childCount"] == 5

    data = (await gql(CHILDREN_FIRST, {"id": parent["id"], "first": 0})).ok()["tag"]
    assert data["children"] == []

    assert (await tree(gql, other_root["id"]))["childCount"] == 0


async def test_children_first_out_of_range_is_bad_user_input(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    for first in (-1, 101):
        result = await gql(CHILDREN_FIRST, {"id": parent["id"], "first": first})
        assert result.error_codes == ["BAD_USER_INPUT"]


# Re-parenting with updateTag ---------------------------------------------------------


async def test_update_parent_to_itself_is_cycle(gql: Executor) -> None:
    a, b = await chain(gql, "A", "B")
    payload = await move(gql, b["id"], b["id"])
    assert payload["tag"] is None
    assert codes_and_fields(payload) == [("CYCLE", ["parentId"])]
    assert (await tree(gql, b["id"]))["parent"] == {"id": a["id"]}


@pytest.mark.parametrize("below", [1, 2])
async def test_update_parent_to_own_descendant_is_cycle(gql: Executor, below: int) -> None:
    a, b, c = await chain(gql, "A", "B", "C")
    payload = await move(gql, a["id"], [a, b, c][below]["id"])
    assert payload["tag"] is None
    assert codes_and_fields(payload) == [("CYCLE", ["parentId"])]
    root = await tree(gql, a["id"])
    assert root["parent"] is None
    assert root["depth"] == 0
    assert (await tree(gql, c["id"]))["ancestors"] == [
        {"id": a["id"], "depth": 0},
        {"id": b["id"], "depth": 1},
    ]


@pytest.mark.parametrize("kind", ["unknown", "malformed", "other-workspace"])
async def test_update_parent_to_missing_tag_is_not_found(gql: Executor, kind: str) -> None:
    (tag,) = await chain(gql, "Tag")
    if kind == "unknown":
        parent_id = UNKNOWN_ID
    elif kind == "malformed":
        parent_id = "nope"
    else:
        parent_id = (await create_tag(gql, "Elsewhere", workspace=OTHER_WS))["id"]
    payload = await move(gql, tag["id"], parent_id)
    assert payload["tag"] is None
    assert codes_and_fields(payload) == [("NOT_FOUND", ["parentId"])]
    assert (await tree(gql, tag["id"]))["parent"] is None


async def test_moving_a_subtree_too_deep_is_depth_exceeded_and_changes_nothing(
    gql: Executor,
) -> None:
    a, b, c = await chain(gql, "A", "B", "C")  # subtree of height 2
    x0, x1, x2 = await chain(gql, "X0", "X1", "X2")
    # Under X2 (depth 2): A would be 3, B 4, C 5 -> refused.
    payload = await move(gql, a["id"], x2["id"])
    assert payload["tag"] is None
    assert codes_and_fields(payload) == [("DEPTH_EXCEEDED", ["parentId"])]
    for tag, depth in ((a, 0), (b, 1), (c, 2)):
        assert (await tree(gql, tag["id"]))["depth"] == depth
    assert (await tree(gql, x2["id"]))["childCount"] == 0

    # Under X1 (depth 1): the deepest, C, lands exactly on depth 4.
    payload = await move(gql, a["id"], x1["id"])
    assert payload["userErrors"] == []
    assert payload["tag"]["depth"] == 2
    leaf = await tree(gql, c["id"])
    assert leaf["depth"] == 4
    assert [t["id"] for t in leaf["ancestors"]] == [x0["id"], x1["id"], a["id"], b["id"]]


async def test_moving_a_subtree_updates_every_descendant(gql: Executor) -> None:
    r1, a, b, c = await chain(gql, "R1", "A", "B", "C")
    c2 = await create_tag(gql, "C2", parentId=b["id"])
    r2, x = await chain(gql, "R2", "X")

    payload = await move(gql, a["id"], x["id"])
    assert payload["userErrors"] == []
    assert payload["tag"]["parent"] == {"id": x["id"]}
    assert payload["tag"]["ancestors"] == [{"id": r2["id"]}, {"id": x["id"]}]
    assert payload["tag"]["depth"] == 2

    moved_a = await tree(gql, a["id"])
    assert [t["id"] for t in moved_a["ancestors"]] == [r2["id"], x["id"]]
    moved_b = await tree(gql, b["id"])
    assert moved_b["depth"] == 3
    assert moved_b["parent"] == {"id": a["id"]}
    assert [t["id"] for t in moved_b["ancestors"]] == [r2["id"], x["id"], a["id"]]
    for leaf in (c, c2):
        node = await tree(gql, leaf["id"])
        assert node["depth"] == 4
        assert [t["id"] for t in node["ancestors"]] == [r2["id"], x["id"], a["id"], b["id"]]

    assert (await tree(gql, r1["id"]))["childCount"] == 0
    assert (await tree(gql, x["id"]))["children"] == [{"id": a["id"], "name": "A"}]
    assert await filtered(gql, {"descendantOf": r1["id"]}) == ([], 0)
    assert await filtered(gql, {"descendantOf": r2["id"]}) == (["A", "B", "C", "C2", "X"], 5)


async def test_moving_a_subtree_up_decreases_depths(gql: Executor) -> None:
    a, b, c, d, e = await chain(gql, "A", "B", "C", "D", "E")
    payload = await move(gql, c["id"], a["id"])
    assert payload["userErrors"] == []
    assert payload["tag"]["depth"] == 1
    node_e = await tree(gql, e["id"])
    assert node_e["depth"] == 3
    assert [t["id"] for t in node_e["ancestors"]] == [a["id"], c["id"], d["id"]]
    assert (await tree(gql, b["id"]))["childCount"] == 0
    assert [t["name"] for t in (await tree(gql, a["id"]))["children"]] == ["B", "C"]


async def test_parent_null_makes_a_root_and_lifts_its_subtree(gql: Executor) -> None:
    a, b, c, d = await chain(gql, "A", "B", "C", "D")
    payload = await move(gql, b["id"], None)
    assert payload["userErrors"] == []
    assert payload["tag"]["parent"] is None
    assert payload["tag"]["ancestors"] == []
    assert payload["tag"]["depth"] == 0

    node_c = await tree(gql, c["id"])
    assert node_c["depth"] == 1
    assert [t["id"] for t in node_c["ancestors"]] == [b["id"]]
    node_d = await tree(gql, d["id"])
    assert node_d["depth"] == 2
    assert [t["id"] for t in node_d["ancestors"]] == [b["id"], c["id"]]
    assert (await tree(gql, a["id"]))["childCount"] == 0
    assert await filtered(gql, {"isRoot": True}) == (["A", "B"], 2)

    # The subtree (height 2) now fits under a depth-1 tag, but not under a depth-2 one.
    _, z1, z2 = await chain(gql, "Z0", "Z1", "Z2")
    assert codes_and_fields(await move(gql, b["id"], z2["id"])) == [
        ("DEPTH_EXCEEDED", ["parentId"])
    ]
    assert (await move(gql, b["id"], z1["id"]))["userErrors"] == []
    assert (await tree(gql, d["id"]))["depth"] == 4


# Filters ---------------------------------------------------------------------------


async def test_tree_filters(gql: Executor) -> None:
    a, b, c = await chain(gql, "A", "B", "C")
    b2 = await create_tag(gql, "b2", parentId=a["id"])
    await create_tag(gql, "c2", parentId=b2["id"])
    r, s = await chain(gql, "R", "S")

    assert await filtered(gql, {"parentId": a["id"]}) == (["B", "b2"], 2)
    assert await filtered(gql, {"parentId": b["id"]}) == (["C"], 1)
    assert await filtered(gql, {"parentId": c["id"]}) == ([], 0)
    assert await filtered(gql, {"parentId": "malformed"}) == ([], 0)

    assert await filtered(gql, {"isRoot": True}) == (["A", "R"], 2)
    assert await filtered(gql, {"isRoot": False}) == (["B", "b2", "C", "c2", "S"], 5)

    assert await filtered(gql, {"descendantOf": a["id"]}) == (["B", "b2", "C", "c2"], 4)
    assert await filtered(gql, {"descendantOf": b["id"]}) == (["C"], 1)
    assert await filtered(gql, {"descendantOf": r["id"]}) == (["S"], 1)
    assert await filtered(gql, {"descendantOf": s["id"]}) == ([], 0)
    assert await filtered(gql, {"descendantOf": UNKNOWN_ID}) == ([], 0)

    # Filters combine with AND.
    assert await filtered(gql, {"descendantOf": a["id"], "isRoot": False, "search": "c"}) == (
        ["C", "c2"],
        2,
    )
    assert await filtered(gql, {"descendantOf": a["id"], "parentId": b2["id"]}) == (["c2"], 1)


# deleteTag ---------------------------------------------------------------------------


async def test_delete_moves_children_up_to_the_deleted_tags_parent(gql: Executor) -> None:
    a, b, c, d = await chain(gql, "A", "B", "C", "D")
    c2 = await create_tag(gql, "C2", parentId=b["id"])

    payload = await delete(gql, b["id"])
    assert payload["userErrors"] == []
    assert payload["deletedTagIds"] == [b["id"]]
    assert payload["removedTaggingsCount"] == 0
    assert await tree_or_none(gql, b["id"]) is None

    node_a = await tree(gql, a["id"])
    assert node_a["children"] == [{"id": c["id"], "name": "C"}, {"id": c2["id"], "name": "C2"}]
    assert node_a["childCount"] == 2
    node_c = await tree(gql, c["id"])
    assert node_c["parent"] == {"id": a["id"]}
    assert node_c["depth"] == 1
    assert [t["id"] for t in node_c["ancestors"]] == [a["id"]]
    node_d = await tree(gql, d["id"])
    assert node_d["depth"] == 2
    assert [t["id"] for t in node_d["ancestors"]] == [a["id"], c["id"]]
    assert (await tree(gql, c2["id"]))["depth"] == 1


async def test_deleting_a_root_makes_its_children_roots(gql: Executor) -> None:
    a, b, c = await chain(gql, "A", "B", "C")
    await tag_resources(gql, [a["id"], b["id"]], [("task", "1"), ("task", "2")])
    payload = await delete(gql, a["id"])
    assert payload["deletedTagIds"] == [a["id"]]
    assert payload["removedTaggingsCount"] == 2
    node_b = await tree(gql, b["id"])
    assert node_b["parent"] is None
    assert node_b["depth"] == 0
    assert node_b["ancestors"] == []
    node_c = await tree(gql, c["id"])
    assert node_c["depth"] == 1
    assert [t["id"] for t in node_c["ancestors"]] == [b["id"]]
    assert await filtered(gql, {"isRoot": True}) == (["B"], 1)
    for rid in ("1", "2"):
        tags = (await gql(RESOURCE_TAGS, {"ws": WS, "type": "task", "id": rid})).ok()[
            "resourceTags"
        ]
        assert tags == [{"id": b["id"]}]
    assert (await gql(USAGE, {"id": b["id"]})).ok()["tag"]["usageCount"] == 2


async def test_delete_with_descendants_removes_the_subtree_everywhere(gql: Executor) -> None:
    a, b, c = await chain(gql, "A", "B", "C")
    d, e = await chain(gql, "D", "E", parent_id=b["id"])
    keep = await create_tag(gql, "Keep", parentId=a["id"])
    await tag_resources(gql, [b["id"], c["id"]], [("task", "1")])
    await tag_resources(gql, [a["id"], e["id"]], [("task", "2")])
    await tag_resources(gql, [d["id"], keep["id"]], [("task", "3"), ("file", "3")])

    payload = await delete(gql, b["id"], descendants=True)
    assert payload["userErrors"] == []
    assert sorted(payload["deletedTagIds"]) == sorted(ids([b, c, d, e]))
    assert len(payload["deletedTagIds"]) == 4
    # b+c on task:1, e on task:2, d on task:3 and file:3.
    assert payload["removedTaggingsCount"] == 5

    for gone in (b, c, d, e):
        assert await tree_or_none(gql, gone["id"]) is None
    expected = {
        ("task", "1"): [],
        ("task", "2"): [{"id": a["id"]}],
        ("task", "3"): [{"id": keep["id"]}],
        ("file", "3"): [{"id": keep["id"]}],
    }
    for (rtype, rid), tags in expected.items():
        got = (await gql(RESOURCE_TAGS, {"ws": WS, "type": rtype, "id": rid})).ok()["resourceTags"]
        assert got == tags, (rtype, rid)
    node_a = await tree(gql, a["id"])
    assert node_a["children"] == [{"id": keep["id"], "name": "Keep"}]
    assert node_a["childCount"] == 1
    assert (await gql(USAGE, {"id": a["id"]})).ok()["tag"]["usageCount"] == 1
    assert (await gql(USAGE, {"id": keep["id"]})).ok()["tag"]["usageCount"] == 2
    assert await filtered(gql, {}) == (["A", "Keep"], 2)


async def test_delete_unknown_tag_is_not_found(gql: Executor) -> None:
    (keep,) = await chain(gql, "Keep")
    for tag_id in (UNKNOWN_ID, "garbage"):
        payload = await delete(gql, tag_id)
        assert payload["deletedTagIds"] == []
        assert codes_and_fields(payload) == [("NOT_FOUND", ["id"])]
    assert await tree_or_none(gql, keep["id"]) is not None
