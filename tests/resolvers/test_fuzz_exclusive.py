"""Hostile values for the `exclusive` inputs (1.1) of createTag, createTags and updateTag,
and for addTagsToResources when it replaces, through the harness of
tests/resolvers/test_fuzz.py: no 5xx, no leak, no INTERNAL_SERVER_ERROR, and the
store unchanged whenever a case is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Store
from tests.resolvers.test_fuzz import (
    FUZZ_SETTINGS,
    TAG,
    UE,
    WS,
    Ctx,
    Fixtures,
    Op,
    cases,
    hostile_value,
    run_case,
    type_confusion,
)

hostile_flag = st.one_of(type_confusion, st.sampled_from([None, True, False, 0, 1, "true", []]))

EXCLUSIVE_OPS: list[Op] = [
    Op(
        "createTag",
        f"mutation($input: CreateTagInput!) {{ createTag(input: $input) "
        f"{{ tag {{ {TAG} exclusive }} {UE} clientMutationId }} }}",
        lambda c: {"input": {"workspaceId": WS, "name": f"Group {c.n}", "exclusive": True}},
        {("input", "exclusive"): hostile_flag, ("input", "name"): hostile_value},
    ),
    Op(
        "createTags",
        f"mutation($input: CreateTagsInput!) {{ createTags(input: $input) "
        f"{{ tags {{ {TAG} exclusive }} {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "tags": [{"name": f"Group {c.n}", "exclusive": True}, {"name": f"Kid {c.n}"}],
            }
        },
        {("input", "tags", 0, "exclusive"): hostile_flag, ("input", "tags", 1): hostile_value},
    ),
    Op(
        "updateTag",
        f"mutation($input: UpdateTagInput!) {{ updateTag(input: $input) "
        f"{{ tag {{ {TAG} exclusive }} {UE} clientMutationId }} }}",
        lambda c: {"input": {"id": c.keep, "exclusive": True}},
        {("input", "exclusive"): hostile_flag, ("input", "id"): hostile_value},
    ),
    Op(
        "addTagsToResources",
        f"mutation($input: AddTagsToResourcesInput!) {{ addTagsToResources(input: $input) "
        f"{{ addedCount replacedCount {UE} clientMutationId }} }}",
        lambda c: _two_children(c),
        {
            ("input", "tagIds", 0): hostile_value,
            ("input", "tagNames", 0): hostile_value,
            ("input", "resources", 0, "id"): hostile_value,
        },
    ),
]
# Keyed by field name: run_case reads the payload under the op's name.
BY_NAME = {op.name: op for op in EXCLUSIVE_OPS}


def _two_children(c: Ctx) -> dict[str, Any]:
    # Fixtures make root tags only: t1 and t2 are siblings under no parent, so the
    # base case adds two tags; hostile values go to where ids and names are read.
    return {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": "base"}],
            "tagIds": [c.t1],
            "tagNames": ["Two"],
        }
    }


FIXTURES = Fixtures()


@settings(FUZZ_SETTINGS, max_examples=60)
@given(case=cases([BY_NAME[name] for name in sorted(BY_NAME)]))
async def test_hostile_exclusive_arguments(
    client: httpx.AsyncClient, store: Store, case: tuple[str, list[Any]]
) -> None:
    name, edits = case
    await run_case(client, store, FIXTURES, BY_NAME[name], edits, "mutations")


@pytest.mark.parametrize("value", [None, "true", 1, [], {"$ne": False}])
async def test_every_exclusive_flag_gets_type_confused_values(
    client: httpx.AsyncClient, store: Store, value: Any
) -> None:
    fx = Fixtures()
    for op in EXCLUSIVE_OPS[:3]:
        path = next(p for p in op.slots if p[-1] == "exclusive")
        await run_case(client, store, fx, op, [(path, value)], "sweep")
