"""A demo workspace, so GraphiQL has something to show.

Seeded through the GraphQL API itself, so every rule of the service applies.
"""

from __future__ import annotations

from typing import Any

from resolvers.authorization import DEV_PRINCIPAL, Principal
from resolvers.context import make_context
from resolvers.normalization import name_key
from schema import build_schema
from storage import AuthorizedWorkspace, Store

WORKSPACE = "demo"

# name, category, color, parent name
TREE: list[tuple[str, str | None, str | None, str | None]] = [
    ("Product", "topic", "#1e88e5", None),
    ("Web", "topic", None, "Product"),
    ("Checkout", "topic", None, "Web"),
    ("Mobile", "topic", None, "Product"),
    ("Bug", "type", "#e53935", None),
    ("Crash", "type", None, "Bug"),
    ("UI glitch", "type", None, "Bug"),
    ("Feature request", "type", "#43a047", None),
    ("Priority", "priority", "#fb8c00", None),
    ("P0 Critical", "priority", "#b71c1c", "Priority"),
    ("P1 High", "priority", None, "Priority"),
    ("P2 Normal", "priority", None, "Priority"),
    ("ACME Corp", "customer", "#6d4c41", None),
    ("Globex", "customer", None, None),
    ("Berlin", "location", None, None),
    ("São Paulo", "location", None, None),
]

# A resource carries one priority at most: adding another takes the old one off.
EXCLUSIVE = {"Priority"}

# resource type, id, tag names
TAGGED: list[tuple[str, str, list[str]]] = [
    ("task", "T-101", ["Checkout", "Bug", "P0 Critical", "ACME Corp"]),
    ("task", "T-102", ["Mobile", "Crash", "P1 High"]),
    ("task", "T-103", ["Web", "UI glitch", "P2 Normal", "Globex"]),
    ("task", "T-104", ["Feature request", "Checkout", "ACME Corp"]),
    ("task", "T-105", ["Feature request", "Mobile", "P2 Normal"]),
    ("file", "spec-checkout.pdf", ["Checkout", "Web"]),
    ("file", "crash-log-0412.txt", ["Crash", "Mobile"]),
    ("contact", "c-ana", ["ACME Corp", "São Paulo"]),
    ("contact", "c-jonas", ["Globex", "Berlin"]),
    ("campaign", "spring-launch", ["Product", "Feature request", "Berlin", "São Paulo"]),
]

CREATE = """
mutation Seed($input: CreateTagInput!) {
  createTag(input: $input) { tag { id name } userErrors { code message } }
}
"""
TAG = """
mutation SeedTags($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount userErrors { code message } }
}
"""


async def seed_demo(store: Store, principal: Principal = DEV_PRINCIPAL) -> dict[str, int]:
    """Create the demo workspace (tags that already exist are kept); returns counts.
    `principal` is who the history says made the tags."""
    schema = build_schema()

    async def run(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        context = make_context(None, principal, store)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        if result.errors:
            raise RuntimeError(result.errors[0].message)
        assert result.data is not None
        return result.data

    ids: dict[str, str] = {}
    created = 0
    for name, category, color, parent in TREE:
        fields: dict[str, Any] = {"workspaceId": WORKSPACE, "name": name, "category": category}
        if color:
            fields["color"] = color
        if name in EXCLUSIVE:
            fields["exclusive"] = True
        if parent:
            fields["parentId"] = ids[parent]
        payload = (await run(CREATE, {"input": fields}))["createTag"]
        if payload["tag"]:
            ids[name] = payload["tag"]["id"]
            created += 1
        else:
            existing = await store.tags.by_name_keys(
                AuthorizedWorkspace(WORKSPACE), [name_key(name)]
            )
            ids[name] = existing[0]["_id"]
    added = 0
    for rtype, rid, names in TAGGED:
        payload = (
            await run(
                TAG,
                {
                    "input": {
                        "workspaceId": WORKSPACE,
                        "resources": [{"type": rtype, "id": rid}],
                        "tagIds": [ids[n] for n in names],
                    }
                },
            )
        )["addTagsToResources"]
        added += payload["addedCount"]
    return {"tags_created": created, "associations_added": added}
