"""Types shared by every part of the schema: Node, PageInfo, UserError, enums."""

from __future__ import annotations

import strawberry

from resolvers.errors import ErrorCode, UserErrorCode, UserFailure
from resolvers.pagination import Page

UserErrorCodeEnum = strawberry.enum(UserErrorCode, name="UserErrorCode")
ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Codes carried in `extensions.code` of top-level errors.",
)


@strawberry.interface(
    description="An object with a globally unique id (Relay Global Object Identification)."
)
class Node:
    id: strawberry.ID


@strawberry.type(description="Relay cursor-connection page information.")
class PageInfo:
    start_cursor: str | None
    end_cursor: str | None
    _page: strawberry.Private[Page]

    @strawberry.field
    async def has_next_page(self) -> bool:
        return await self._page.has_next()

    @strawberry.field
    async def has_previous_page(self) -> bool:
        return await self._page.has_previous()


def page_info(page: Page, cursors: list[str]) -> PageInfo:
    return PageInfo(
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
        _page=page,
    )


@strawberry.type(description="An expected failure of a mutation, returned as data.")
class UserError:
    code: UserErrorCode
    field: list[str] | None
    message: str


def user_errors(failure: UserFailure) -> list[UserError]:
    """The one place domain failures become the payload's `userErrors`."""
    return [
        UserError(
            code=p.code,
            field=list(p.field) if p.field is not None else None,
            message=p.message,
        )
        for p in failure.problems
    ]
