"""Hostile arguments for the tag-sprawl reads (issue 13): similarTags, RELEVANCE,
Tag.related and tagCounts, through the same harness as tests/resolvers/test_fuzz.py:
no 5xx, no leak, no INTERNAL_SERVER_ERROR, and the store unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Store
from tests.resolvers.test_fuzz import (
    CURATED_SWEEP,
    FUZZ_SETTINGS,
    WS,
    Fixtures,
    Op,
    cases,
    hostile_value,
    run_case,
    type_confusion,
)

hostile_int = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([-1, 0, 20, 21, 100, 101, 2**31 - 1]),
    type_confusion,
)

SPRAWL_QUERIES: list[Op] = [
    Op(
        "similarTags",
        "query($ws: ID!, $name: String!, $first: Int) { "
        "similarTags(workspaceId: $ws, name: $name, first: $first) { id name } }",
        lambda c: {"ws": WS, "name": "keep", "first": 5},
        {("ws",): hostile_value, ("name",): hostile_value, ("first",): hostile_int},
        mutation=False,
    ),
    Op(
        "tags(RELEVANCE)",
        "query($ws: ID!, $search: String, $dir: OrderDirection!, $after: String, "
        "$before: String, $first: Int) { tags(workspaceId: $ws, filter: {search: $search}, "
        "orderBy: {field: RELEVANCE, direction: $dir}, first: $first, after: $after, "
        "before: $before) { totalCount nodes { id } pageInfo { endCursor hasNextPage } } }",
        lambda c: {"ws": WS, "search": "e", "dir": "ASC", "after": None, "before": None},
        {
            ("search",): hostile_value,
            ("after",): hostile_value,
            ("before",): hostile_value,
            ("dir",): hostile_value,
            ("first",): hostile_int,
        },
        mutation=False,
    ),
    Op(
        "related/tagCounts",
        "query($id: ID!, $ws: ID!, $first: Int, $type: String) { "
        "tag(id: $id) { related(first: $first) { count tag { id } } "
        "resources(resourceType: $type) { tagCounts(first: $first) { count } } } "
        "taggedResources(workspaceId: $ws, tagIds: [$id], resourceType: $type) "
        "{ tagCounts(first: $first) { count tag { id } } } }",
        lambda c: {"id": c.keep, "ws": WS, "first": 10, "type": None},
        {
            ("id",): hostile_value,
            ("ws",): hostile_value,
            ("first",): hostile_int,
            ("type",): hostile_value,
        },
        mutation=False,
    ),
]
BY_NAME = {op.name: op for op in SPRAWL_QUERIES}


FIXTURES = Fixtures()


@settings(FUZZ_SETTINGS, max_examples=80)
@given(case=cases([BY_NAME[name] for name in sorted(BY_NAME)]))
async def test_hostile_sprawl_arguments(
    client: httpx.AsyncClient, store: Store, case: tuple[str, list[Any]]
) -> None:
    name, edits = case
    await run_case(client, store, FIXTURES, BY_NAME[name], edits, "queries")


SWEEP = [
    pytest.param(op, path, id=f"{op.name}:{'.'.join(map(str, path))}")
    for op in SPRAWL_QUERIES
    for path, strategy in sorted(op.slots.items(), key=lambda item: repr(item[0]))
    if strategy is hostile_value
]


@pytest.mark.parametrize(("op", "path"), SWEEP)
async def test_every_sprawl_text_argument_gets_hostile_values(
    client: httpx.AsyncClient, store: Store, op: Op, path: tuple[Any, ...]
) -> None:
    fx = Fixtures()
    index = [p.values for p in SWEEP].index((op, path))
    picks = [CURATED_SWEEP[(index * 3 + k) % len(CURATED_SWEEP)] for k in range(3)]
    for value in [{"$gt": ""}, *picks]:
        await run_case(client, store, fx, op, [(path, value)], "sweep")
