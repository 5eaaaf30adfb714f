"""What the tag picker would cost with nothing but the stack underneath.

- graphql-core floor: the same query run by plain graphql-core over the same
  documents, already in memory, with minimal resolvers: GraphQL execution in
  Python and nothing else.
- Starlette floor: a plain Starlette endpoint answering the same JSON body:
  HTTP in this stack and nothing else.
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SDL = """
type Query { tags(workspaceId: ID!, first: Int, filter: TagFilter): TagConnection! }
input TagFilter { search: String }
type TagConnection { nodes: [Tag!]! }
type Tag {
  id: ID! name: String! color: String! textColor: String!
  parent: Tag usageCount: Int!
}
"""


def graphql_core_floor(docs: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> Any:
    """An async callable running one query against in-memory documents."""
    schema = build_schema(SDL)

    def as_tag(doc: dict[str, Any]) -> dict[str, Any]:
        parent = by_id.get(doc.get("parentId") or "")
        return {
            "id": doc["_id"],
            "name": doc["name"],
            "color": doc["color"],
            "textColor": "#000000",
            "parent": as_tag(parent) if parent else None,
            "usageCount": doc.get("usage", 0),
        }

    async def tags(root: Any, info: Any, **args: Any) -> dict[str, Any]:
        return {"nodes": [as_tag(d) for d in docs]}

    schema.query_type.fields["tags"].resolve = tags  # type: ignore[union-attr]

    async def run(query: str, variables: dict[str, Any]) -> bytes:
        result = await graphql(schema, query, variable_values=variables)
        assert not result.errors, result.errors
        return orjson.dumps({"data": result.data})

    return run


def starlette_floor(body: bytes) -> Starlette:
    async def answer(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", answer, methods=["POST"])])
