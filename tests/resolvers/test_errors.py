"""The helpers that build every NAME_TAKEN / SLUG_TAKEN / NOT_FOUND problem."""

from __future__ import annotations

import pytest

from resolvers.errors import (
    Problem,
    Problems,
    UserErrorCode,
    UserFailure,
    invalid,
    missing,
    taken,
)


def test_taken_by_an_existing_tag_names_the_field() -> None:
    assert taken("name", ("tags", "2", "name")) == Problem(
        UserErrorCode.NAME_TAKEN, "A tag with this name already exists.", ("tags", "2", "name")
    )
    assert taken("slug", ["slug"]) == Problem(
        UserErrorCode.SLUG_TAKEN, "A tag with this slug already exists.", ("slug",)
    )


def test_taken_within_a_batch_says_so() -> None:
    problem = taken("slug", ("tags", "1", "slug"), in_batch=True)
    assert problem.code is UserErrorCode.SLUG_TAKEN
    assert problem.message == "Another tag in this batch has this slug."


def test_taken_with_a_message_keeps_it() -> None:
    problem = taken("name", ("tagNames",), message="Try again.")
    assert problem == Problem(UserErrorCode.NAME_TAKEN, "Try again.", ("tagNames",))


def test_missing_names_what_was_not_found() -> None:
    assert missing(("parentId",), "Parent tag") == Problem(
        UserErrorCode.NOT_FOUND, "Parent tag not found.", ("parentId",)
    )
    assert missing(None).field is None


def test_problems_keeps_every_failure_and_raises_them_together() -> None:
    problems = Problems()

    def fail(field: str) -> int:
        raise invalid((field,), f"{field} is wrong.")

    assert problems.check(lambda: fail("a")) is None
    assert problems.check(lambda: 7) == 7
    problems.add(missing(("b",)))
    with pytest.raises(UserFailure) as raised:
        problems.raise_any()
    assert [p.field for p in raised.value.problems] == [("a",), ("b",)]


def test_problems_without_failures_raises_nothing() -> None:
    Problems().raise_any()
