"""The data set and the four single-page-app flows the benchmarks measure."""

from __future__ import annotations

import itertools
from typing import Any

from bench.asgi import graphql

WORKSPACE = "bench"
ROOTS = 10
CHILDREN_PER_ROOT = 9
GRANDCHILDREN_PER_CHILD = 2
RESOURCES = 500

TAG_PICKER = """
query TagPicker($ws: ID!, $q: String) {
  tags(workspaceId: $ws, first: 50, filter: {search: $q}) {
    nodes { id name color textColor parent { name } usageCount }
  }
}
"""

TAG_TREE = """
query TagTree($ws: ID!) {
  tags(workspaceId: $ws, first: 50, filter: {isRoot: true}) {
    nodes { id name color childCount children { id name color childCount } }
  }
}
"""

# A list view of 50 resources with their tags. (Fifty separate `resourceTags`
# fields would need 50 aliases; the contract allows 30 per operation.)
RESOURCE_TAGS = """
query ResourceTags($ws: ID!, $tags: [ID!]!) {
  taggedResources(workspaceId: $ws, tagIds: $tags, first: 50) {
    nodes { type id tags { id name color } }
  }
}
"""

CREATE_TAG = """
mutation CreateTag($input: CreateTagInput!) {
  createTag(input: $input) { tag { id name slug color } userErrors { code } }
}
"""

ADD_TAGS = """
mutation AddTags($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount resources { id tags { name } } userErrors { code } }
}
"""

CREATE_TAGS = """
mutation Seed($ws: ID!, $tags: [TagDraft!]!) {
  createTags(input: {workspaceId: $ws, tags: $tags}) { tags { id name } userErrors { code message } }
}
"""


async def seed(app: Any, resources: int = RESOURCES) -> dict[str, Any]:
    """300 tags in a 3-level tree, `resources` tasks carrying 3-6 tags each."""

    async def create(drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        made = []
        for start in range(0, len(drafts), 100):
            body = await graphql(
                app, CREATE_TAGS, {"ws": WORKSPACE, "tags": drafts[start : start + 100]}
            )
            payload = body["data"]["createTags"]
            assert not payload["userErrors"], payload["userErrors"]
            made += payload["tags"]
        return made

    roots = await create([{"name": f"Area {r:02d}"} for r in range(ROOTS)])
    children = await create(
        [
            {"name": f"{root['name']} topic {c}", "parentId": root["id"]}
            for root in roots
            for c in range(CHILDREN_PER_ROOT)
        ]
    )
    grandchildren = await create(
        [
            {"name": f"{child['name']} detail {g}", "parentId": child["id"]}
            for child in children
            for g in range(GRANDCHILDREN_PER_CHILD)
        ]
    )
    every = roots + children + grandchildren
    cycle = itertools.cycle(every)
    for start in range(0, resources, 100):
        for i in range(start, min(start + 100, resources)):
            tags = [next(cycle)["id"] for _ in range(3 + i % 4)]
            await graphql(
                app,
                ADD_TAGS,
                {
                    "input": {
                        "workspaceId": WORKSPACE,
                        "resources": [{"type": "task", "id": f"T-{i}"}],
                        "tagIds": tags,
                    }
                },
            )
    return {"tags": every, "roots": roots}


def flows(data: dict[str, Any]) -> dict[str, Any]:
    """Name -> a function of the iteration number giving (query, variables) to send."""
    popular = [t["id"] for t in data["tags"][:3]]

    def picker(i: int) -> tuple[str, dict[str, Any]]:
        return TAG_PICKER, {"ws": WORKSPACE, "q": "topic"}

    def tree(i: int) -> tuple[str, dict[str, Any]]:
        return TAG_TREE, {"ws": WORKSPACE}

    def resource_tags(i: int) -> tuple[str, dict[str, Any]]:
        return RESOURCE_TAGS, {"ws": WORKSPACE, "tags": popular}

    return {"tag picker": picker, "tag tree": tree, "resource tags (50)": resource_tags}


def mutation_flow(data: dict[str, Any], run_id: str) -> Any:
    """createTag, then addTagsToResources with it on 5 resources."""

    async def run(app: Any, i: int) -> list[dict[str, Any]]:
        created = await graphql(
            app, CREATE_TAG, {"input": {"workspaceId": WORKSPACE, "name": f"New {run_id} {i}"}}
        )
        tag_id = created["data"]["createTag"]["tag"]["id"]
        added = await graphql(
            app,
            ADD_TAGS,
            {
                "input": {
                    "workspaceId": WORKSPACE,
                    "resources": [
                        {"type": "task", "id": f"T-{(i * 5 + k) % RESOURCES}"} for k in range(5)
                    ],
                    "tagIds": [tag_id],
                }
            },
        )
        return [created, added]

    return run
