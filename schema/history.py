"""(1.2) The change history's types: TagChange, FieldChange and their connection."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry

from resolvers import history
from resolvers.context import Info
from resolvers.history import TagChangeKind
from resolvers.pagination import Page
from schema.common import Node, PageInfo, domain_enum, page_info
from schema.scalars import JSON
from schema.tag import Tag
from storage import Doc, is_live

TagChangeKindEnum = domain_enum(
    TagChangeKind,
    name="TagChangeKind",
    description="(1.2) What a change did.",
    values={
        "MERGED": "The tag was merged into `TagChange.mergedIntoId`; recorded on each source.",
        "IMPORTED": "The tag was created or updated by importTags.",
    },
)


@strawberry.type(
    description=(
        "(1.2) One field of a tag before and after a change, as the API shows it "
        "(parent as its id)."
    )
)
class FieldChange:
    field: str = strawberry.field(
        description=(
            "The Tag field's name: `name`, `slug`, `color`, `description`, `category`, "
            "`metadata`, `aliases`, `exclusive`, `parent`."
        )
    )
    before: JSON | None = strawberry.field(
        description="Null when the field had no value (always null for CREATED)."
    )
    after: JSON | None = strawberry.field(
        description="Null when the field has no value after the change (always null for DELETED)."
    )


@strawberry.type(description="(1.2) One change of one tag.")
class TagChange(Node):
    kind: TagChangeKind
    tag_id: strawberry.ID
    actor: strawberry.ID | None = strawberry.field(
        description=(
            "Principal id (token subject or API key id) that made the change; null when unknown."
        )
    )
    at: datetime
    changes: list[FieldChange] = strawberry.field(
        description=(
            "The fields that changed; for CREATED every field set, for DELETED every field "
            "the tag had."
        )
    )
    merged_into_id: strawberry.ID | None = strawberry.field(
        description="For MERGED: the tag it was merged into."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> TagChange:
        return cls(
            id=strawberry.ID(history.node_id(doc["_id"])),
            kind=TagChangeKind(doc["kind"]),
            tag_id=doc["tagId"],
            actor=doc.get("actor"),
            at=doc["at"],
            changes=[
                FieldChange(
                    field=c["field"],
                    before=cast(JSON, c.get("before")),
                    after=cast(JSON, c.get("after")),
                )
                for c in doc.get("changes") or []
            ],
            merged_into_id=doc.get("mergedIntoId"),
        )

    @strawberry.field(
        description="The tag as it is now; null when it was deleted or merged away.",
        graphql_type=Tag | None,
    )
    async def tag(self, info: Info) -> Tag | None:
        doc = await info.context.loaders.tag_by_id.load(str(self.tag_id))
        return Tag.from_doc(doc) if doc is not None and is_live(doc) else None


@strawberry.type
class TagChangeEdge:
    cursor: str
    node: TagChange


@strawberry.type(description="(1.2) A page of changes; pagination as for TagConnection.")
class TagChangeConnection:
    edges: list[TagChangeEdge]
    nodes: list[TagChange]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> TagChangeConnection:
        cursors = history.change_cursors(page)
        nodes = [TagChange.from_doc(d) for d in page.docs]
        return cls(
            edges=[TagChangeEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=page_info(page, cursors),
        )
