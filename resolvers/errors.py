"""Domain errors.

Expected failures are raised as `UserFailure` (one or many problems) and turned
into the payload's `userErrors` by `schema.mutation`. Top-level GraphQL
errors carry an `ErrorCode` in `extensions.code`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from graphql import GraphQLError

from i18n import N_

T = TypeVar("T")


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
        return cls([Problem(code, message, _field(field))])


class Problems:
    """Runs validators, keeping every failure instead of stopping at the first."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def check(self, validate: Callable[[], T]) -> T | None:
        try:
            return validate()
        except UserFailure as failure:
            self.found.extend(failure.problems)
            return None

    def add(self, problem: Problem) -> None:
        self.found.append(problem)

    def raise_any(self) -> None:
        if self.found:
            raise UserFailure(self.found)


def invalid(field: Sequence[str] | None, message: str) -> UserFailure:
    return UserFailure.one(UserErrorCode.VALIDATION, message, field)


# Whole sentences, so each language can word them its own way (README "Languages").
_MISSING = {"Tag": N_("Tag not found."), "Parent tag": N_("Parent tag not found.")}


def missing(field: Sequence[str] | None, what: Literal["Tag", "Parent tag"] = "Tag") -> Problem:
    """NOT_FOUND: `what` does not exist, or the caller may not see it (the same answer)."""
    return Problem(UserErrorCode.NOT_FOUND, _MISSING[what], _field(field))


def not_found(
    field: Sequence[str] | None, what: Literal["Tag", "Parent tag"] = "Tag"
) -> UserFailure:
    return UserFailure([missing(field, what)])


_TAKEN = {"name": UserErrorCode.NAME_TAKEN, "slug": UserErrorCode.SLUG_TAKEN}
_TAKEN_MESSAGES = {
    ("name", False): N_("A tag with this name already exists."),
    ("slug", False): N_("A tag with this slug already exists."),
    ("name", True): N_("Another tag in this batch has this name."),
    ("slug", True): N_("Another tag in this batch has this slug."),
}


def taken(
    what: Literal["name", "slug"],
    field: Sequence[str] | None,
    *,
    in_batch: bool = False,
    message: str | None = None,
) -> Problem:
    """The one way NAME_TAKEN / SLUG_TAKEN problems are built.

    By default another tag of the workspace holds the value; `in_batch`, an
    earlier item of the same batch; `message` replaces both (a retry gave up).
    """
    if message is None:
        message = _TAKEN_MESSAGES[what, in_batch]
    return Problem(_TAKEN[what], message, _field(field))


def _field(field: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(field) if field is not None else None


class BadUserInput(GraphQLError):
    """A malformed argument: a top-level error with `BAD_USER_INPUT`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
