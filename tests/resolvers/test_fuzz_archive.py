"""Hostile values for the 1.2 archive arguments: archiveTags, restoreTags and
`tags(filter: {archived})`. Same harness and rules as tests/resolvers/test_fuzz.py: no
internal error, no leak, userErrors only with contract codes, nothing stored when only
errors came back; and whatever was accepted leaves every tag in a state the API can show."""

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
    UE,
    WS,
    Fixtures,
    Op,
    cases,
    hostile_list,
    hostile_value,
    run_case,
    type_confusion,
)

TAG = "id workspaceId name slug color textColor description category metadata depth"
STATE = f"{TAG} archived archivedAt"

hostile_ids = st.one_of(
    hostile_list,
    st.lists(hostile_value, max_size=4),
    st.just([f"tag_{n:024x}" for n in range(101)]),
    st.just(["tag_ffffffffffffffffffffffff"] * 100),
)

ARCHIVE_OPS: list[Op] = [
    Op(
        name,
        f"mutation($input: ArchiveTagsInput!) {{ {name}(input: $input) "
        f"{{ tags {{ {STATE} }} notFoundIds {UE} }} }}",
        lambda c: {"input": {"workspaceId": WS, "ids": [c.t1, c.keep]}},
        {
            ("input", "workspaceId"): hostile_value,
            ("input", "ids"): hostile_ids,
            ("input", "ids", 0): hostile_value,
            ("input", "ids", 1): hostile_value,
            ("input",): type_confusion,
        },
    )
    for name in ("archiveTags", "restoreTags")
]
ARCHIVE_OPS.append(
    Op(
        "tags",
        "query($ws: ID!, $filter: TagFilter, $after: String) { "
        "tags(workspaceId: $ws, filter: $filter, after: $after) "
        "{ totalCount nodes { id name archived archivedAt } pageInfo { endCursor } } }",
        lambda c: {"ws": WS, "filter": {"archived": True}, "after": None},
        {
            ("filter", "archived"): type_confusion,
            ("filter", "search"): hostile_value,
            ("filter", "parentId"): hostile_value,
            ("filter",): type_confusion,
            ("after",): hostile_value,
        },
        mutation=False,
    )
)
OPS = {op.name: op for op in ARCHIVE_OPS}
FIXTURES = Fixtures()


async def _check_states(client: httpx.AsyncClient) -> None:
    """Every tag, archived or not, reads back with a consistent state."""
    response = await client.post(
        "/graphql",
        json={
            "query": f'{{ tags(workspaceId: "{WS}", filter: {{archived: null}}, first: 100) '
            f"{{ nodes {{ archived archivedAt }} }} }}"
        },
    )
    for tag in response.json()["data"]["tags"]["nodes"]:
        assert tag["archived"] is (tag["archivedAt"] is not None), tag


@settings(FUZZ_SETTINGS, max_examples=120)
@given(case=cases([OPS[name] for name in sorted(OPS)]))
async def test_hostile_archive_arguments(
    client: httpx.AsyncClient, store: Store, case: Any
) -> None:
    name, edits = case
    await run_case(client, store, FIXTURES, OPS[name], edits, "archive")
    await _check_states(client)


def _sweep() -> list[Any]:
    return [
        pytest.param(op, path, id=f"{op.name}:{'.'.join(map(str, path))}")
        for op in ARCHIVE_OPS
        for path, strategy in sorted(op.slots.items(), key=lambda item: repr(item[0]))
        if strategy is hostile_value
    ]


SWEEP = _sweep()


@pytest.mark.parametrize(("op", "path"), SWEEP)
async def test_every_archive_text_argument_gets_hostile_values(
    client: httpx.AsyncClient, store: Store, op: Op, path: tuple[Any, ...]
) -> None:
    """Deterministic: an operator object and a rotating pick of the curated strings."""
    fx = Fixtures()
    index = [p.values for p in SWEEP].index((op, path))
    picks = [CURATED_SWEEP[(index * 5 + k) % len(CURATED_SWEEP)] for k in range(5)]
    for value in [{"$gt": ""}, *picks]:
        await run_case(client, store, fx, op, [(path, value)], "archive-sweep")
    await _check_states(client)
