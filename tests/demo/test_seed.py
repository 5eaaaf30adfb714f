"""The demo workspace: a small tree with tagged resources, seeded idempotently."""

from __future__ import annotations

from demo.seed import TAGGED, TREE, WORKSPACE, seed_demo
from storage import Store
from tests.harness import Executor

TREE_QUERY = """
query { tags(workspaceId: "demo", filter: {isRoot: true}, first: 50) {
  totalCount nodes { name childCount children(first: 20) { name children(first: 20) { name } } } } }
"""
CHECKOUT = """
query { taggedResources(workspaceId: "demo", tagIds: [$ID], includeDescendants: true) {
  totalCount nodes { type id } } }
"""


async def test_seed_demo_builds_the_tree_and_is_idempotent(store: Store, gql: Executor) -> None:
    first = await seed_demo(store)
    assert first == {
        "tags_created": len(TREE),
        "associations_added": sum(len(t) for _, _, t in TAGGED),
    }
    assert await seed_demo(store) == {"tags_created": 0, "associations_added": 0}

    roots = (await gql(TREE_QUERY)).ok()["tags"]
    assert roots["totalCount"] == sum(1 for *_, parent in TREE if parent is None)
    product = next(n for n in roots["nodes"] if n["name"] == "Product")
    assert product["childCount"] == 2
    assert {c["name"] for c in product["children"]} == {"Mobile", "Web"}
    web = next(c for c in product["children"] if c["name"] == "Web")
    assert web["children"] == [{"name": "Checkout"}]

    ids = {
        n["name"]: n
        for n in (
            await gql('{ tags(workspaceId: "demo", first: 100) { nodes { id name } } }')
        ).ok()["tags"]["nodes"]
    }
    web_id = ids["Web"]["id"]
    found = (await gql(CHECKOUT.replace("$ID", f'"{web_id}"'))).ok()["taggedResources"]
    # Web and its child Checkout are on T-101, T-103, T-104 and the spec file.
    assert {(n["type"], n["id"]) for n in found["nodes"]} == {
        ("task", "T-101"),
        ("task", "T-103"),
        ("task", "T-104"),
        ("file", "spec-checkout.pdf"),
    }
    assert WORKSPACE == "demo"
