"""Domain errors.

Expected failures are raised as `UserFailure` (one or many problems) and turned
into the payload's `userErrors` by `schema.mutation`. Top-level GraphQL
errors carry an `ErrorCode` in `extensions.code`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graphql import GraphQLError


class UserErrorCode(enum.Enum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    NAME_TAKEN = "NAME_TAKEN"
    SLUG_TAKEN = "SLUG_TAKEN"
    CYCLE = "CYCLE"
    DEPTH_EXCEEDED = "DEPTH_EXCEEDED"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


class ErrorCode(enum.Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


@dataclass(frozen=True, slots=True)
class Problem:
    """One expected failure, shaped like the contract's `UserError`."""

    code: UserErrorCode
    message: str
    field: tuple[str, ...] | None = None


class UserFailure(Exception):
    """A mutation cannot proceed; nothing has been changed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(
        cls, code: UserErrorCode, message: str, field: Sequence[str] | None = None
    ) -> UserFailure:
        return cls([Problem(code, message, tuple(field) if field is not None else None)])


def invalid(field: Sequence[str] | None, message: str) -> UserFailure:
    return UserFailure.one(UserErrorCode.VALIDATION, message, field)


class BadUserInput(GraphQLError):
    """A malformed argument: a top-level error with `BAD_USER_INPUT`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
