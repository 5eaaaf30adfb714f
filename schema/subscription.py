"""Subscription root: live tag events over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from resolvers.context import Info
from resolvers.events import subscriptions
from resolvers.events.bus import TagEventKind
from schema.common import domain_enum
from schema.tag import Tag

TagEventKindEnum = domain_enum(
    TagEventKind,
    name="TagEventKind",
    description=None,
    values={
        "USAGE_CHANGED": "A tag was added to or removed from resources.",
        "ARCHIVED": "(1.2)",
        "RESTORED": "(1.2)",
    },
)


@strawberry.type
class TagEvent:
    kind: TagEventKind
    tag_id: strawberry.ID
    workspace_id: strawberry.ID
    tag: Tag | None = strawberry.field(
        description="The tag as it is now; null for DELETED and for merged-away sources."
    )
    at: datetime


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Live tag changes in a workspace, over the graphql-transport-ws protocol."
    )
    async def tag_events(
        self, info: Info, workspace_id: strawberry.ID
    ) -> AsyncGenerator[TagEvent, None]:
        async for event, doc in subscriptions.tag_events(info.context, workspace_id):
            yield TagEvent(
                kind=event.kind,
                tag_id=strawberry.ID(event.tag_id),
                workspace_id=strawberry.ID(event.workspace_id),
                tag=Tag.from_doc(doc) if doc else None,
                at=event.at,
            )
