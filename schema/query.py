"""Query root."""

from __future__ import annotations

from inspect import cleandoc

import strawberry

from resolvers import history
from resolvers.context import Info
from resolvers.taggings import queries as tagging_queries
from resolvers.tags import queries as tag_queries
from resolvers.tags import similar
from resolvers.tags.io import exporting
from resolvers.tags.io.rows import TagFileFormat
from schema.common import Node
from schema.history import TagChange, TagChangeConnection
from schema.tag import (
    OrderDirection,
    ResourceRefInput,
    Tag,
    TagConnection,
    TagFilter,
    TaggedResourceConnection,
    TagMatch,
    TagOrder,
    TagOrderField,
)
from schema.tag_files import TagFile


@strawberry.type(description="Who is calling, and what they may do.")
class Viewer:
    id: strawberry.ID = strawberry.field(
        description="Principal id: the token subject or the API key id."
    )
    scopes: list[str] = strawberry.field(
        description=(
            "Granted scopes, from `tags:read`, `tags:write`, `taggings:write`, `tags:admin`."
        )
    )
    workspace_ids: list[strawberry.ID] = strawberry.field(
        description='Workspaces this principal may access; `["*"]` means every workspace.'
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Relay refetch. Null when the id is unknown or not visible to the caller."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        if history.is_change_id(id):
            change = await history.change_by_id(info.context, id)
            return TagChange.from_doc(change) if change else None
        doc = await tag_queries.tag_by_id(info.context, id)
        return Tag.from_doc(doc) if doc else None

    @strawberry.field(
        description=(
            "Relay refetch of many; same order as `ids`, null where unknown or not visible. "
            "At most 100 ids."
        )
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        docs = await tag_queries.tags_by_ids(info.context, list(ids))
        found: list[Node | None] = [Tag.from_doc(d) if d else None for d in docs]
        if any(history.is_change_id(i) for i in ids):
            changes = await history.changes_by_ids(info.context, list(ids))
            for i, node_id in enumerate(ids):
                if node_id in changes:
                    found[i] = TagChange.from_doc(changes[node_id])
        return found

    @strawberry.field(
        description=(
            "Null when unknown or not visible to the caller (no hint of existence in other "
            "workspaces)."
        )
    )
    async def tag(self, info: Info, id: strawberry.ID) -> Tag | None:
        doc = await tag_queries.tag_by_id(info.context, id)
        return Tag.from_doc(doc) if doc else None

    @strawberry.field
    async def tag_by_slug(self, info: Info, workspace_id: strawberry.ID, slug: str) -> Tag | None:
        doc = await tag_queries.tag_by_slug(info.context, workspace_id, slug)
        return Tag.from_doc(doc) if doc else None

    @strawberry.field(
        description=cleandoc(
            """
            (1.1) Tags whose name or an alias is close to `name`, for "did you mean…?"
            before a tag is created. Close means: equal when case, accents, spaces and
            punctuation are ignored (`T-SQL`, `tsql`); or one trailing `s` apart
            (`bird`, `birds`); or within 1 edit for names of up to 5 characters, 2
            edits for longer ones (an edit inserts, deletes or replaces one character,
            or swaps two neighbouring ones; case and accents ignored). A tag whose name
            or alias equals `name` (without regard to case) comes first, then the
            others by fewest edits, then usage count (highest first), then name.
            `first`: 0-20.
            """
        )
    )
    async def similar_tags(
        self, info: Info, workspace_id: strawberry.ID, name: str, first: int | None = 5
    ) -> list[Tag]:
        docs = await similar.similar_tags(info.context, workspace_id, name, first)
        return [Tag.from_doc(d) for d in docs]

    @strawberry.field(
        description=cleandoc(
            """
            (1.1) The tag whose name or alias equals `name` after normalization,
            without regard to case; null when none.
            """
        )
    )
    async def tag_by_name(self, info: Info, workspace_id: strawberry.ID, name: str) -> Tag | None:
        doc = await tag_queries.tag_by_name(info.context, workspace_id, name)
        return Tag.from_doc(doc) if doc else None

    @strawberry.field(
        description="Tags of a workspace, filtered, ordered and paginated. Default order: NAME ASC."
    )
    async def tags(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        filter: TagFilter | None = None,
        order_by: TagOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> TagConnection:
        f = filter or TagFilter()
        order = order_by.field if order_by else TagOrderField.NAME
        descending = bool(order_by and order_by.direction == OrderDirection.DESC)
        page = await tag_queries.list_tags(
            info.context,
            workspace_id,
            {
                "search": f.search,
                "category": f.category,
                "parent_id": f.parent_id,
                "is_root": f.is_root,
                "descendant_of": f.descendant_of,
                "ids": f.ids,
                "created_by": f.created_by,
                "archived": f.archived,
            },
            order.value,
            descending,
            first,
            after,
            last,
            before,
        )
        return TagConnection.from_page(page, tag_queries.tag_cursors(page, order.value))

    @strawberry.field(
        description=(
            "The tags a resource carries, ordered by name (case-insensitive). "
            "Empty when it has none."
        )
    )
    async def resource_tags(
        self, info: Info, workspace_id: strawberry.ID, resource: ResourceRefInput
    ) -> list[Tag]:
        docs = await tagging_queries.resource_tags(
            info.context, workspace_id, resource.type, resource.id
        )
        return [Tag.from_doc(d) for d in docs]

    @strawberry.field(
        description=cleandoc(
            """
            Resources carrying ANY or ALL of the given tags (1-20 ids), optionally of one
            resource type. With includeDescendants, a tag also matches through any of its
            descendants. Ordered by `taggedAt` (see TaggedResourceEdge), newest first,
            ties broken by resource type then id.
            """
        )
    )
    async def tagged_resources(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        tag_ids: list[strawberry.ID],
        match: TagMatch | None = TagMatch.ANY,
        resource_type: str | None = None,
        include_descendants: bool | None = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> TaggedResourceConnection:
        page = await tagging_queries.tagged_resources(
            info.context,
            workspace_id,
            list(tag_ids),
            match == TagMatch.ALL,
            resource_type,
            bool(include_descendants),
            first,
            after,
            last,
            before,
        )
        return TaggedResourceConnection.from_page(page, workspace_id)

    @strawberry.field(
        description=cleandoc(
            """
            (1.2) The workspace's change history, newest first (ties by id): every
            create, update, archive, restore, delete and merge of a tag, with who made
            it. Applying tags to resources is not recorded here (see `resources` and
            USAGE_CHANGED events). `tagId` narrows it to one tag (also after that tag
            was deleted or merged away); `actor` to one principal id (see Viewer.id).
            Entries are kept for `TAGS_HISTORY_DAYS` days (SERVICE.md). Needs tags:read.
            """
        )
    )
    async def tag_changes(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        tag_id: strawberry.ID | None = None,
        actor: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> TagChangeConnection:
        page = await history.tag_changes(info.context, workspace_id, tag_id, actor, first, after)
        return TagChangeConnection.from_page(page)

    @strawberry.field(
        description=cleandoc(
            """
            (1.2) The workspace's tags as one file in `format`: every tag, archived ones
            included, ordered by depth, then name (case-insensitive), so a parent comes
            before its children. What `importTags` reads back (see TagFileFormat).
            Needs tags:read.
            """
        )
    )
    async def export_tags(
        self, info: Info, workspace_id: strawberry.ID, format: TagFileFormat = TagFileFormat.JSON
    ) -> TagFile:
        content, count = await exporting.export_tags(info.context, workspace_id, format)
        return TagFile(format=format, content=content, tag_count=count)

    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            id=strawberry.ID(principal.id),
            scopes=list(principal.scopes),
            workspace_ids=[strawberry.ID(w) for w in principal.workspace_ids],
        )
