"""Tag, tagged resources and their connections."""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable
from datetime import datetime
from inspect import cleandoc, isawaitable
from typing import TYPE_CHECKING, Annotated, Optional, cast

import strawberry
from graphql import FieldNode

from resolvers import history as change_history
from resolvers.context import Context, Info
from resolvers.dataloaders import held, then
from resolvers.normalization import text_color
from resolvers.pagination import Page
from resolvers.taggings import facets
from resolvers.taggings import queries as tagging_queries
from resolvers.tags import fields as tag_fields
from schema.common import Node, PageInfo, page_info
from schema.scalars import JSON
from storage import Doc
from storage.taggings import split_key

if TYPE_CHECKING:
    from schema.history import TagChangeConnection


@strawberry.enum
class TagOrderField(enum.Enum):
    NAME = strawberry.enum_value("NAME", description="Name, case-insensitive.")
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    USAGE_COUNT = strawberry.enum_value(
        "USAGE_COUNT",
        description="Total usage count; ties broken by name ascending, whatever the direction.",
    )
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE",
        description=cleandoc(
            """
            (1.1) How well the tag matches `filter.search` (with no or an empty search:
            BAD_USER_INPUT). Best first with ASC: the name or an alias equal to the
            search, then one starting with it, then one with a word starting with it
            (words are split at spaces and punctuation), then any other match; ties by
            usage count (highest first), then name. Accents and case are ignored as in
            the search itself. Keyset pagination holds as for every order.
            """
        ),
    )


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class TagMatch(enum.Enum):
    ANY = strawberry.enum_value("ANY", description="Resources carrying at least one of the tags.")
    ALL = strawberry.enum_value("ALL", description="Resources carrying every one of the tags.")


@strawberry.input(description="Filters combine with AND.")
class TagFilter:
    search: str | None = strawberry.field(
        default=None,
        description=cleandoc(
            """
            Case- and accent-insensitive substring of the name or (1.1) of an alias
            (`cafe` finds `Café au lait`); a tag is listed once however many of its
            names match. Matched literally: characters such as `(`, `*`, `.` have no
            special meaning. Empty string means no filter. A search longer than 100
            characters matches nothing.
            """
        ),
    )
    category: str | None = strawberry.field(
        default=None, description="Exact category, case-insensitive."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only direct children of this tag."
    )
    is_root: bool | None = strawberry.field(
        default=None, description="Only root tags (true) or only non-root tags (false)."
    )
    descendant_of: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only tags below this tag, at any depth (the tag itself excluded).",
    )
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these tags (at most 100 ids)."
    )
    created_by: strawberry.ID | None = strawberry.field(
        default=None, description="Only tags created by this principal id (see Viewer.id)."
    )
    archived: bool | None = strawberry.field(
        default=False,
        description=cleandoc(
            """
            (1.2) false (the default): only tags that are not archived; true: only
            archived tags; null: both.
            """
        ),
    )


@strawberry.input
class TagOrder:
    field: TagOrderField
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(
    description="A reference to a resource owned by the host platform (a task, file, contact...)."
)
class ResourceRefInput:
    type: str = strawberry.field(
        description=(
            "Resource kind: 1-64 ASCII characters of letters, digits, `_`, `-`, `.`, `:`; "
            "starts with a letter."
        )
    )
    id: str = strawberry.field(
        description="Resource id in the host platform: 1-256 characters, no control characters."
    )


# Colors repeat (a 16-color default palette, few custom ones), and the WCAG
# computation costs twice the rest of `Tag.from_doc`, which runs for every tag a
# response holds. Bounded: custom colors are arbitrary.
_text_color = functools.lru_cache(maxsize=4096)(text_color)


@strawberry.type(
    description=cleandoc(
        """
        A label in a workspace. Tags may form a forest: a tag has at most one parent in
        the same workspace, at most 5 levels deep (depth 0 to 4), never a cycle.
        """
    )
)
class Tag(Node):
    # `id` comes from Node, with its description.
    workspace_id: strawberry.ID
    name: str = strawberry.field(
        description=cleandoc(
            """
            Display name as entered (after normalization), 1-100 characters. Unique in
            its workspace without regard to case: `VIP` and `vip` conflict.
            """
        )
    )
    slug: str = strawberry.field(
        description=cleandoc(
            """
            URL-safe identifier, unique in its workspace: lowercase ASCII letters, digits
            and single hyphens, 1-100 characters, no leading/trailing hyphen. Generated
            from the name when not given (accents folded, `Bug / Issue` -> `bug-issue`,
            `P0 Critical!!!` -> `p0-critical`); when a generated slug is taken a numeric
            suffix is added (`bug-2`). A name with no ASCII letters or digits gets a
            slug derived from the tag id.
            """
        )
    )
    color: str = strawberry.field(
        description=cleandoc(
            """
            `#rrggbb`, lowercase. Input accepts 6 hex digits with or without `#`, any
            case. When not given, a color is picked deterministically from the name (the
            same name always gets the same color) out of a fixed palette.
            """
        )
    )
    text_color: str = strawberry.field(
        description="`#000000` or `#ffffff`, whichever has the higher WCAG contrast on `color`."
    )
    description: str | None = strawberry.field(
        description="At most 500 characters; null when not set."
    )
    category: str | None = strawberry.field(
        description=(
            "Free-form grouping such as `topic`, `person`, `location`; 1-50 characters; "
            "null when not set."
        )
    )
    metadata: JSON = strawberry.field(description="Custom metadata, `{}` when not set.")
    created_by: strawberry.ID | None = strawberry.field(
        description=(
            "Id of the principal (token subject or API key id) that created the tag; "
            "null when unknown."
        )
    )
    exclusive: bool = strawberry.field(
        description=cleandoc(
            """
            (1.1) When true, a resource carries at most one of this tag's direct
            children: adding one of them to a resource takes the others off it (see
            AddTagsToResourcesInput). Combinations made earlier (before the tag became
            exclusive, or by moving or merging tags) are left as they are.
            """
        )
    )
    aliases: list[str] = strawberry.field(
        description=cleandoc(
            """
            (1.1) Other names of this tag, normalized like names, each 1-100
            characters, at most 50, in the order given. Names and aliases are unique
            together in a workspace without regard to case: no tag's name or alias may
            equal another tag's name or alias (NAME_TAKEN). Looking a tag up by name
            finds it by an alias too: `tagByName`, `tagNames` of addTagsToResources,
            `TagFilter.search`, `similarTags`.
            """
        )
    )
    depth: int = strawberry.field(description="0 for a root tag, parent's depth + 1 otherwise.")
    archived: bool = strawberry.field(
        description=cleandoc(
            """
            (1.2) An archived tag is retired, not deleted: it keeps its id, names,
            aliases, place in the tree and every association, so old resources still
            show it and its usage counts stay right. It is left out of `tags` (see
            TagFilter.archived) and cannot be applied to a resource (VALIDATION, also
            when `tagNames` names it). Its name and aliases stay taken (NAME_TAKEN);
            `tag`, `node`, `tagBySlug`, `tagByName`, `similarTags` and `resourceTags`
            still return it, with `archived: true`, so a picker can offer to restore
            it instead of creating a duplicate.
            """
        )
    )
    archived_at: datetime | None = strawberry.field(
        description="(1.2) When the tag was archived; null when it is not."
    )
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
            text_color=_text_color(doc["color"]),
            description=doc.get("description"),
            category=doc.get("category"),
            metadata=cast(JSON, doc.get("metadata") or {}),
            created_by=doc.get("createdBy"),
            exclusive=bool(doc.get("exclusive", False)),
            aliases=doc.get("aliases") or [],
            depth=doc.get("depth", 0),
            archived=bool(doc.get("archived")),
            archived_at=doc.get("archivedAt"),
            created_at=doc["createdAt"],
            updated_at=doc["updatedAt"],
            _doc=doc,
        )

    @strawberry.field(
        description="The parent tag, or null for a root tag.", graphql_type=Optional["Tag"]
    )
    def parent(self, info: Info) -> Tag | Awaitable[Tag | None] | None:
        found = tag_fields.parent(info.context, self._doc)
        if isawaitable(found):
            return _tag_later(found)
        return Tag.from_doc(found) if found else None

    @strawberry.field(
        description="All ancestors, root first, ending with the parent. Empty for a root tag."
    )
    async def ancestors(self, info: Info) -> list[Tag]:
        return [Tag.from_doc(d) for d in await tag_fields.ancestors(info.context, self._doc)]

    @strawberry.field(
        description="Direct children, ordered by name (case-insensitive), at most `first` of them.",
        graphql_type=list["Tag"],
    )
    def children(self, info: Info, first: int | None = 100) -> list[Tag] | Awaitable[list[Tag]]:
        docs = tag_fields.children(info.context, self._doc, first)
        if _selects(info, "childCount"):
            # Load the children's counts in this one awaitable: each child's
            # childCount then answers synchronously, instead of an awaitable
            # (and graphql-core tasks) per child. Same batch, same round trips.
            return _with_child_counts(info.context, docs)
        if isawaitable(docs):
            return then(docs, _tags)
        return _tags(docs)

    @strawberry.field(description="Number of direct children.", graphql_type=int)
    def child_count(self, info: Info) -> int | Awaitable[int]:
        return tag_fields.child_count(info.context, self._doc)

    @strawberry.field(
        description=cleandoc(
            """
            Number of resources carrying this tag (this tag only, not its descendants),
            optionally only those of one resource type.
            """
        ),
        graphql_type=int,
    )
    def usage_count(self, info: Info, resource_type: str | None = None) -> int | Awaitable[int]:
        return tag_fields.usage_count(info.context, self._doc, resource_type)

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
        page = await tagging_queries.tag_resources(
            info.context, self._doc, resource_type, first, after, last, before
        )
        return TaggedResourceConnection.from_page(page, self._doc["ws"])

    @strawberry.field(
        description=cleandoc(
            """
            (1.1) The tags most often applied together with this one: for each other
            tag, the number of resources carrying both. Most frequent first, ties by
            name (case-insensitive). Counted over the resources carrying this tag, at
            most the 10000 most recently tagged of them. `first`: 0-100.
            """
        )
    )
    async def related(self, info: Info, first: int | None = 10) -> list[TagCount]:
        counted = await facets.related(info.context, self._doc, first)
        return [TagCount(tag=Tag.from_doc(doc), count=n) for doc, n in counted]

    @strawberry.field(
        description=(
            "(1.2) This tag's changes, newest first: the same entries as `Query.tagChanges` "
            "with `tagId`."
        )
    )
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Annotated[TagChangeConnection, strawberry.lazy("schema.history")]:
        from schema.history import TagChangeConnection  # it refers to Tag in turn

        page = await change_history.tag_history(info.context, self._doc, first, after)
        return TagChangeConnection.from_page(page)


@strawberry.type(
    description=(
        "(1.1) A tag with a number of resources; the field returning it says which resources."
    )
)
class TagCount:
    tag: Tag
    count: int


def _tags(docs: list[Doc]) -> list[Tag]:
    return [Tag.from_doc(d) for d in docs]


def _selects(info: Info, name: str) -> bool:
    """Whether the field's own selection names `name` directly (fragments not looked into)."""
    # graphql-core's info (build_schema resolves this field directly) or Strawberry's.
    nodes = getattr(info, "field_nodes", None) or info._raw_info.field_nodes
    for node in nodes:
        if node.selection_set is not None:
            for selection in node.selection_set.selections:
                if isinstance(selection, FieldNode) and selection.name.value == name:
                    return True
    return False


async def _with_child_counts(context: Context, docs: list[Doc] | Awaitable[list[Doc]]) -> list[Tag]:
    found = await docs if isawaitable(docs) else docs
    keys = [(d["ws"], d["_id"]) for d in found]
    # A child whose own children are loaded counts them without the count loader.
    wanted = [k for k in keys if held(context.loaders.children_by_parent_id, k) is None]
    if wanted:
        await context.loaders.child_count_by_parent_id.load_many(wanted)
    return _tags(found)


async def _tag_later(found: Awaitable[Doc | None]) -> Tag | None:
    doc = await found
    return Tag.from_doc(doc) if doc else None


@strawberry.type
class TagEdge:
    cursor: str
    node: Tag


@strawberry.type(
    description=cleandoc(
        """
        A page of tags. Pagination is cursor (keyset) based: a cursor stays valid while
        tags are created or deleted (even the tag it came from), and paging through
        never repeats or skips a tag that existed for the whole walk. At most 100 per
        page; with neither `first` nor `last`, 50 (`last: 50` when only `before` is
        given); passing both, or a negative value, is BAD_USER_INPUT. The same rules
        hold for every connection in this schema.
        """
    )
)
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
        docs = await tagging_queries.tags_of_resource(
            info.context, self._workspace_id, self.type, self.id
        )
        return [Tag.from_doc(d) for d in docs]

    @strawberry.field
    async def tag_count(self, info: Info) -> int:
        docs = await tagging_queries.tags_of_resource(
            info.context, self._workspace_id, self.type, self.id
        )
        return len(docs)


def tagged_resource(workspace_id: str, rtype: str, rid: str) -> TaggedResource:
    return TaggedResource(type=rtype, id=rid, _workspace_id=workspace_id)


@strawberry.type
class TaggedResourceEdge:
    cursor: str
    node: TaggedResource
    tagged_at: datetime = strawberry.field(
        description=cleandoc(
            """
            For Tag.resources: when that tag was applied to the resource. For
            Query.taggedResources: the latest time one of the matched tags (or, with
            includeDescendants, their descendants) was applied to it.
            """
        )
    )


@strawberry.type
class TaggedResourceConnection:
    edges: list[TaggedResourceEdge]
    nodes: list[TaggedResource]
    page_info: PageInfo
    _page: strawberry.Private[Page]

    @classmethod
    def from_page(cls, page: Page, workspace_id: str) -> TaggedResourceConnection:
        cursors = tagging_queries.resource_cursors(page)
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

    @strawberry.field(
        description=cleandoc(
            """
            (1.1) Facets: the tags carried by the resources of this connection (all
            pages, not only this one), each with the number of those resources that
            carry it. Most frequent first, ties by name (case-insensitive). Counted
            over at most the 10000 most recently tagged of those resources.
            `first`: 0-100.
            """
        )
    )
    async def tag_counts(self, info: Info, first: int | None = 20) -> list[TagCount]:
        counted = await facets.tag_counts(info.context, self._page.source, first)
        return [TagCount(tag=Tag.from_doc(doc), count=n) for doc, n in counted]
