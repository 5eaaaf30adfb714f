"""What the read flows would cost with nothing but the stack underneath.

- graphql-core floor: the same documents (query and variables) run by plain
  graphql-core, parsed and validated every time, over the same store documents
  already in memory, with minimal resolvers (each page is computed once and
  then looked up; fields are plain reads; the response is serialized with
  orjson): GraphQL execution in Python and nothing else.
- Starlette floor: a plain Starlette endpoint answering the same JSON body:
  HTTP in this stack and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.taggings import split_key

SDL = """
type Query {
  tags(workspaceId: ID!, first: Int, filter: TagFilter): TagConnection!
  taggedResources(workspaceId: ID!, tagIds: [ID!]!, first: Int): ResourceConnection!
}
input TagFilter { search: String isRoot: Boolean }
type TagConnection { nodes: [Tag!]! }
type ResourceConnection { nodes: [Resource!]! }
type Resource { type: String! id: ID! tags: [Tag!]! }
type Tag {
  id: ID! name: String! color: String! textColor: String!
  parent: Tag usageCount: Int! childCount: Int! children: [Tag!]!
}
"""

Floor = Callable[[str, dict[str, Any]], Awaitable[bytes]]


class _Data:
    """Every tag and tagging of a workspace, indexed the way the resolvers read them."""

    def __init__(self, tags: list[dict[str, Any]], taggings: list[dict[str, Any]]) -> None:
        live = [d for d in tags if "deleting" not in d]
        self.by_id = {d["_id"]: d for d in live}
        self.by_name = sorted(live, key=lambda d: (d["nameKey"], d["_id"]))
        self.children: dict[str, list[dict[str, Any]]] = {}
        for doc in self.by_name:
            if doc.get("parentId"):
                self.children.setdefault(doc["parentId"], []).append(doc)
        self.taggings = sorted(taggings, key=lambda t: t["at"], reverse=True)
        self.pages: dict[Any, Any] = {}


class _Tag:
    """A tag as graphql-core's default resolver reads it: attributes and properties."""

    __slots__ = ("_d", "_doc", "childCount", "color", "id", "name", "textColor", "usageCount")

    def __init__(self, doc: dict[str, Any], data: _Data) -> None:
        self._doc, self._d = doc, data
        self.id = doc["_id"]
        self.name = doc["name"]
        self.color = doc["color"]
        self.textColor = "#000000"
        self.usageCount = doc.get("usage", 0)
        self.childCount = len(data.children.get(self.id, ()))

    @property
    def parent(self) -> _Tag | None:
        parent = self._d.by_id.get(self._doc.get("parentId") or "")
        return _Tag(parent, self._d) if parent else None

    @property
    def children(self) -> list[_Tag]:
        return [_Tag(c, self._d) for c in self._d.children.get(self.id, ())]


def graphql_core_floor(tags: list[dict[str, Any]], taggings: list[dict[str, Any]]) -> Floor:
    """An async callable running one (query, variables) against in-memory documents."""
    schema = build_schema(SDL)
    data = _Data(tags, taggings)

    def tag_page(first: int, filter: dict[str, Any] | None) -> list[dict[str, Any]]:
        search = (filter or {}).get("search")
        roots = (filter or {}).get("isRoot")
        key = ("tags", first, search, roots)
        if key not in data.pages:
            docs = data.by_name
            if search:
                docs = [d for d in docs if search.casefold() in d["searchKey"]]
            if roots:
                docs = [d for d in docs if not d.get("parentId")]
            data.pages[key] = docs[:first]
        page: list[dict[str, Any]] = data.pages[key]
        return page

    def resource_page(tag_ids: list[str], first: int) -> list[tuple[str, str, list[str]]]:
        key = ("resources", tuple(tag_ids), first)
        if key not in data.pages:
            wanted = set(tag_ids)
            order: list[str] = []
            tags_of: dict[str, list[str]] = {}
            for tagging in data.taggings:
                tags_of.setdefault(tagging["rk"], []).append(tagging["tagId"])
                if tagging["tagId"] in wanted and tagging["rk"] not in order:
                    order.append(tagging["rk"])
            data.pages[key] = [(*split_key(rk), tags_of[rk]) for rk in order[:first]]
        page: list[tuple[str, str, list[str]]] = data.pages[key]
        return page

    async def resolve_tags(
        root: Any, info: Any, workspaceId: str, first: int = 20, filter: Any = None
    ) -> dict[str, Any]:
        return {"nodes": [_Tag(d, data) for d in tag_page(first, filter)]}

    async def resolve_resources(
        root: Any, info: Any, workspaceId: str, tagIds: list[str], first: int = 20
    ) -> dict[str, Any]:
        return {
            "nodes": [
                {"type": rtype, "id": rid, "tags": [_Tag(data.by_id[t], data) for t in ids]}
                for rtype, rid, ids in resource_page(tagIds, first)
            ]
        }

    query_type = schema.query_type
    assert query_type is not None
    query_type.fields["tags"].resolve = resolve_tags
    query_type.fields["taggedResources"].resolve = resolve_resources

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
