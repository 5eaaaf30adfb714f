"""Tag, tagged resources and their connections."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import datetime
from inspect import isawaitable
from typing import Optional, cast

import strawberry

from resolvers import resources, tag_graph
from resolvers.context import Info
from resolvers.pagination import Page
from resolvers.rules import text_color
from schema.common import Node, PageInfo, page_info
from schema.scalars import JSON
from storage import Doc
from storage.taggings import split_key


@strawberry.enum
class TagOrderField(enum.Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    USAGE_COUNT = "USAGE_COUNT"


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class TagMatch(enum.Enum):
    ANY = "ANY"
    ALL = "ALL"


@strawberry.input(description="Filters combine with AND.")
class TagFilter:
    search: str | None = None
    category: str | None = None
    parent_id: strawberry.ID | None = None
    is_root: bool | None = None
    descendant_of: strawberry.ID | None = None
    ids: list[strawberry.ID] | None = None
    created_by: strawberry.ID | None = None


@strawberry.input
class TagOrder:
    field: TagOrderField
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(
    description="A reference to a resource owned by the host platform (a task, file, contact...)."
)
class ResourceRefInput:
    type: str
    id: str


@strawberry.type(
    description=(
        "A label in a workspace. Tags may form a forest: a tag has at most one parent in the "
        "same workspace, at most 5 levels deep (depth 0 to 4), never a cycle."
    )
)
class Tag(Node):
    id: strawberry.ID
    workspace_id: strawberry.ID
    name: str
    slug: str
    color: str
    text_color: str
    description: str | None
    category: str | None
    metadata: JSON
    created_by: strawberry.ID | None
    depth: int
    created_at: datetime
    updated_at: datetime
    _doc: strawberry.Private[Doc]

    @classmethod
    def from_doc(cls, doc: Doc) -> Tag:
        return cls(
            id=doc["_id"],
            workspace_id=doc["ws"],
            name=doc["name"],
            slug=doc["slug"],
            color=doc["color"],
            text_color=text_color(doc["color"]),
            description=doc.get("description"),
            category=doc.get("category"),
            metadata=cast(JSON, doc.get("metadata") or {}),
            created_by=doc.get("createdBy"),
            depth=doc.get("depth", 0),
            created_at=doc["createdAt"],
            updated_at=doc["updatedAt"],
            _doc=doc,
        )

    @strawberry.field(
        description="The parent tag, or null for a root tag.", graphql_type=Optional["Tag"]
    )
    def parent(self, info: Info) -> Tag | Awaitable[Tag | None] | None:
        found = tag_graph.parent(info.context, self._doc)
        if isawaitable(found):
            return _tag_later(found)
        return Tag.from_doc(found) if found else None

    @strawberry.field(description="All ancestors, root first, ending with the parent.")
    async def ancestors(self, info: Info) -> list[Tag]:
        return [Tag.from_doc(d) for d in await tag_graph.ancestors(info.context, self._doc)]

    @strawberry.field(description="Direct children, ordered by name (case-insensitive).")
    async def children(self, info: Info, first: int | None = 100) -> list[Tag]:
        docs = await tag_graph.children(info.context, self._doc, first)
        return [Tag.from_doc(d) for d in docs]

    @strawberry.field(description="Number of direct children.")
    async def child_count(self, info: Info) -> int:
        return await tag_graph.child_count(info.context, self._doc)

    @strawberry.field(
        description="Number of resources carrying this tag (not its descendants).", graphql_type=int
    )
    def usage_count(self, info: Info, resource_type: str | None = None) -> int | Awaitable[int]:
        return tag_graph.usage_count(info.context, self._doc, resource_type)

    @strawberry.field(description="Resources carrying this tag, most recently tagged first.")
    async def resources(
        self,
        info: Info,
        resource_type: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> TaggedResourceConnection:
        page = await resources.tag_resources(
            info.context, self._doc, resource_type, first, after, last, before
        )
        return TaggedResourceConnection.from_page(page, self._doc["ws"])


async def _tag_later(found: Awaitable[Doc | None]) -> Tag | None:
    doc = await found
    return Tag.from_doc(doc) if doc else None


@strawberry.type
class TagEdge:
    cursor: str
    node: Tag


@strawberry.type(description="A page of tags, keyset paginated.")
class TagConnection:
    edges: list[TagEdge]
    nodes: list[Tag]
    page_info: PageInfo
    _page: strawberry.Private[Page]

    @classmethod
    def from_page(cls, page: Page, cursors: list[str]) -> TagConnection:
        nodes = [Tag.from_doc(d) for d in page.docs]
        return cls(
            edges=[TagEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=page_info(page, cursors),
            _page=page,
        )

    @strawberry.field(description="Number of tags matching the filter, across all pages.")
    async def total_count(self) -> int:
        return await self._page.total()


@strawberry.type(description="A resource together with the tags it carries in one workspace.")
class TaggedResource:
    type: str
    id: str
    _workspace_id: strawberry.Private[str]

    @strawberry.field(description="Its tags, ordered by name (case-insensitive).")
    async def tags(self, info: Info) -> list[Tag]:
        docs = await resources.tags_of_resource(
            info.context, self._workspace_id, self.type, self.id
        )
        return [Tag.from_doc(d) for d in docs]

    @strawberry.field
    async def tag_count(self, info: Info) -> int:
        docs = await resources.tags_of_resource(
            info.context, self._workspace_id, self.type, self.id
        )
        return len(docs)


def tagged_resource(workspace_id: str, rtype: str, rid: str) -> TaggedResource:
    return TaggedResource(type=rtype, id=rid, _workspace_id=workspace_id)


@strawberry.type
class TaggedResourceEdge:
    cursor: str
    node: TaggedResource
    tagged_at: datetime


@strawberry.type
class TaggedResourceConnection:
    edges: list[TaggedResourceEdge]
    nodes: list[TaggedResource]
    page_info: PageInfo
    _page: strawberry.Private[Page]

    @classmethod
    def from_page(cls, page: Page, workspace_id: str) -> TaggedResourceConnection:
        cursors = resources.resource_cursors(page)
        edges = []
        for cursor, row in zip(cursors, page.docs, strict=True):
            rtype, rid = split_key(row["rk"])
            edges.append(
                TaggedResourceEdge(
                    cursor=cursor,
                    node=tagged_resource(workspace_id, rtype, rid),
                    tagged_at=row["at"],
                )
            )
        return cls(
            edges=edges,
            nodes=[e.node for e in edges],
            page_info=page_info(page, cursors),
            _page=page,
        )

    @strawberry.field
    async def total_count(self) -> int:
        return await self._page.total()
