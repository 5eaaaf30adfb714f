"""Types shared by every part of the schema: Node, PageInfo, UserError, enums."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from inspect import cleandoc
from typing import TypeVar

import strawberry

from i18n import translate
from resolvers.context import Info
from resolvers.errors import ErrorCode, UserErrorCode, UserFailure
from resolvers.pagination import Page

E = TypeVar("E", bound=enum.Enum)


def domain_enum(
    cls: type[E], *, name: str, description: str | None, values: Mapping[str, str]
) -> type[E]:
    """Registers an enum of resolvers/ as a GraphQL enum, with its values' descriptions.

    The domain enums stay plain Python enums (resolvers/ knows nothing of
    GraphQL), so their descriptions are given here, beside their registration.
    """
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    unknown = set(values) - {value.name for value in definition.values}
    if unknown:
        raise ValueError(f"{name} has no value {sorted(unknown)}")
    definition.values = [
        dataclasses.replace(value, description=values.get(value.name))
        for value in definition.values
    ]
    return cls


UserErrorCodeEnum = domain_enum(
    UserErrorCode,
    name="UserErrorCode",
    description=None,
    values={
        "VALIDATION": "Input breaks a documented rule (length, format, range, empty update...).",
        "NOT_FOUND": "A referenced tag does not exist in the workspace (or is not visible).",
        "NAME_TAKEN": "Another tag in the workspace already has this name (case-insensitive).",
        "SLUG_TAKEN": "Another tag in the workspace already has this slug.",
        "CYCLE": "The change would make a tag its own ancestor.",
        "DEPTH_EXCEEDED": "The change would put a tag deeper than depth 4.",
        "LIMIT_EXCEEDED": (
            "A count limit would be exceeded (tags per resource, tags per workspace)."
        ),
    },
)
ErrorCodeEnum = domain_enum(
    ErrorCode,
    name="ErrorCode",
    description=(
        "Codes carried in `extensions.code` of top-level errors. Expected mutation\n"
        "failures use UserErrorCode in the payload instead."
    ),
    values={
        "UNAUTHENTICATED": "No or invalid credentials (HTTP 401).",
        "FORBIDDEN": "Credentials are valid but lack the scope or workspace access needed.",
        "BAD_USER_INPUT": (
            "An argument is malformed: bad cursor, first/last out of range, too many ids."
        ),
        "QUERY_TOO_COMPLEX": "The operation exceeds a depth, alias, token or complexity limit.",
        "RATE_LIMITED": (
            "Too many requests for this principal; retry after `extensions.retryAfter` seconds."
        ),
        "INTERNAL_SERVER_ERROR": (
            "An unexpected fault. The message is generic; details go to the server log only."
        ),
    },
)


@strawberry.interface(
    description="An object with a globally unique id (Relay Global Object Identification)."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque, globally unique id. Tag ids start with `tag_`."
    )


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
    field: list[str] | None = strawberry.field(
        description=cleandoc(
            """
            Path to the input field at fault, from the mutation's `input` object, e.g.
            `["name"]`, or `["tags", "3", "color"]` for an item of a list. Null when no
            single field is at fault.
            """
        )
    )
    # English, as built; `message` answers in the request's language.
    english: strawberry.Private[str]

    @strawberry.field(description="Human-readable, safe to show to end users.")
    def message(self, info: Info) -> str:
        return translate(self.english, info.context.language)


def user_errors(failure: UserFailure) -> list[UserError]:
    """The one place domain failures become the payload's `userErrors`."""
    return [
        UserError(
            code=p.code,
            field=list(p.field) if p.field is not None else None,
            english=p.message,
        )
        for p in failure.problems
    ]
