"""The worst-case object count (`extensions.cost.maxObjects`) and its limit, before execution."""

from __future__ import annotations

import tracemalloc
from typing import Any

import httpx
from graphql import get_operation_ast, parse

from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from schema import TagsSchema
from schema.extensions import cost
from schema.extensions.cost import MAX_OBJECTS, max_objects
from storage import Store
from tests.harness import Executor
from tests.helpers import WS, create_tag

TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def objects(schema: TagsSchema, document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    return max_objects(schema._schema, parsed, operation, variables)[0]


async def run_unmetered(
    schema: TagsSchema, store: Store, document: str, variables: dict[str, Any] | None = None
) -> tuple[Any, int]:
    """Execute with a context of our own, so its meter says what the store was asked."""
    context = make_context(None, DEV_PRINCIPAL, store)
    result = await schema.execute(document, variable_values=variables, context_value=context)
    return result, context.meter.round_trips


# The bound, exceeded by one and met exactly ------------------------------------------

# 27 x (1 connection + 100 tags x (1 + 36 children)) = 99 927, then the tail
# `tags(first: $n)` adds 1 + n: n = 72 reaches the bound exactly.
AT_THE_BOUND = (
    "query($ws: ID!, $n: Int) { "
    + " ".join(
        f"a{i}: tags(workspaceId: $ws, first: 100) {{ nodes {{ children(first: 36) {{ id }} }} }}"
        for i in range(27)
    )
    + " tail: tags(workspaceId: $ws, first: $n) { nodes { id } } }"
)


async def test_the_bound_passes_and_one_more_object_is_refused(gql: Executor) -> None:
    inside = await gql(AT_THE_BOUND, {"ws": WS, "n": 72})
    assert inside.errors == [], inside.errors
    assert inside.extensions["cost"]["maxObjects"] == MAX_OBJECTS

    over = await gql(AT_THE_BOUND, {"ws": WS, "n": 73})
    assert over.data is None
    assert over.error_codes == [TOO_COMPLEX]
    assert over.errors[0]["extensions"]["maxObjects"] == MAX_OBJECTS + 1
    assert over.errors[0]["extensions"]["limit"] == MAX_OBJECTS
    assert "cost" not in over.extensions


async def test_a_refused_operation_makes_no_store_call(schema: TagsSchema, store: Store) -> None:
    fan_out = (
        "query($ws: ID!) { tags(workspaceId: $ws, first: 100) { nodes { children(first: 100) "
        "{ parent { children(first: 100) { id } } } } } }"
    )
    result, round_trips = await run_unmetered(schema, store, fan_out, {"ws": WS})
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == [TOO_COMPLEX]
    assert "1020101 objects" in result.errors[0].message
    assert round_trips == 0


async def test_refused_over_http_without_data(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": AT_THE_BOUND, "variables": {"ws": WS, "n": 73}},
        headers={"accept": "application/graphql-response+json"},
    )
    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [TOO_COMPLEX]


# What the contract's heaviest legitimate requests cost --------------------------------


async def test_a_full_page_with_parent_ancestors_and_children_passes(gql: Executor) -> None:
    root = await create_tag(gql, "Root")
    await create_tag(gql, "Leaf", parentId=root["id"])
    query = (
        "query($ws: ID!) { tags(workspaceId: $ws, first: 100) { nodes { id "
        "parent { id } ancestors { id } children(first: 20) { id } } } }"
    )
    result = await gql(query, {"ws": WS})
    assert result.errors == []
    # 1 connection + 100 x (tag + parent + 4 ancestors + 20 children).
    assert result.extensions["cost"]["maxObjects"] == 1 + 100 * (1 + 1 + 4 + 20)
    assert len(result.data["tags"]["nodes"]) == 2


async def test_cost_sits_next_to_round_trips(gql: Executor) -> None:
    picker = (
        'query($q: String) { tags(workspaceId: "' + WS + '", filter: {search: $q}, first: 20) '
        "{ totalCount nodes { id name parent { name } } pageInfo { hasNextPage endCursor } } }"
    )
    result = await gql(picker, {"q": "x"})
    assert result.errors == []
    # The connection, pageInfo, and 20 tags with their parents.
    assert result.extensions["cost"] == {"dbRoundTrips": result.round_trips, "maxObjects": 42}


def test_the_largest_bulk_write_selected_in_full_passes(schema: TagsSchema) -> None:
    mutation = (
        "mutation($input: AddTagsToResourcesInput!) { addTagsToResources(input: $input) { "
        "resources { type id tags { id name } } createdTags { id } "
        "userErrors { code field } } }"
    )
    # Payload + 500 resources x (1 + 100 tags) + 500 created tags + 500 user errors.
    assert objects(schema, mutation) == 1 + 500 * 101 + 500 + 500 <= MAX_OBJECTS


# Counting rules -------------------------------------------------------------------------


def test_page_sizes_follow_first_last_and_defaults(schema: TagsSchema) -> None:
    def page(args: str) -> int:
        return objects(schema, f'{{ tags(workspaceId: "w"{args}) {{ nodes {{ id }} }} }}')

    assert page("") == 1 + 50
    assert page(", first: 7") == 1 + 7
    assert page(", last: 9") == 1 + 9
    # Out of range is refused by the resolver (BAD_USER_INPUT), so it counts as the maximum.
    assert page(", first: 1000000") == 1 + 100
    assert page(", first: -1") == 1
    edges = objects(schema, '{ tags(workspaceId: "w", first: 3) { edges { node { id } } } }')
    assert edges == 1 + 3 * 2


def test_variables_and_their_defaults_are_read(schema: TagsSchema) -> None:
    query = 'query($n: Int = 5) { tags(workspaceId: "w", first: $n) { nodes { id } } }'
    assert objects(schema, query) == 1 + 5
    assert objects(schema, query, {"n": 8}) == 1 + 8
    assert objects(schema, query, {"n": None}) == 1 + 50
    # A variable of the wrong type fails coercion later; it never breaks the count.
    assert objects(schema, query, {"n": "many"}) == 1 + 50


def test_children_default_and_null(schema: TagsSchema) -> None:
    def tree(args: str) -> int:
        return objects(schema, f'{{ tag(id: "t") {{ children{args} {{ id }} }} }}')

    assert tree("") == 1 + 100
    assert tree("(first: 3)") == 1 + 3
    # `first: null` lists every child: as many as a workspace may hold.
    assert tree("(first: null)") == 1 + 10_000


def test_nodes_counts_its_ids(schema: TagsSchema) -> None:
    literal = '{ nodes(ids: ["a", "b", "c"]) { id } }'
    assert objects(schema, literal) == 3
    variable = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Tag { parent { id } } } }"
    assert objects(schema, variable, {"ids": ["a"] * 7}) == 7 * 2


def test_merged_fields_count_once(schema: TagsSchema) -> None:
    once = '{ tag(id: "t") { parent { id } } }'
    twice = '{ tag(id: "t") { parent { id } parent { name } ...P } } fragment P on Tag { parent { id } }'
    assert objects(schema, once) == objects(schema, twice) == 2
    aliased = '{ tag(id: "t") { parent { id } up: parent { id } } }'
    assert objects(schema, aliased) == 3


def test_introspection_is_not_counted(schema: TagsSchema) -> None:
    assert objects(schema, "{ __schema { types { fields { type { name } } } } }") == 0


# Fragment bombs ----------------------------------------------------------------------------


def tree_bomb(levels: int) -> str:
    """`fragment Tn on Tag { parent { ...Tn-1 } children { ...Tn-1 } }`, `levels` deep."""
    fragments = [
        f"fragment T{n} on Tag {{ parent {{ ...T{n - 1} }} children {{ ...T{n - 1} }} }}"
        for n in range(levels, 0, -1)
    ]
    return (
        f'{{ tag(id: "t") {{ ...T{levels} }} }}\n'
        + "\n".join(fragments)
        + ("\nfragment T0 on Tag { id }")
    )


async def test_the_ten_fragment_bomb_is_refused_in_flat_memory(
    schema: TagsSchema, store: Store
) -> None:
    tracemalloc.start()
    try:
        result, round_trips = await run_unmetered(schema, store, tree_bomb(10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.extensions["code"] for e in result.errors] == [TOO_COMPLEX]
    assert round_trips == 0
    # It asked for about 101^10 objects; refusing it took a few megabytes at most.
    assert peak < 20 * 2**20, peak


def test_counting_is_linear_in_the_fragments(schema: TagsSchema) -> None:
    # Far deeper than the depth limit allows: the count itself must not explode.
    levels = 60
    parsed = parse(tree_bomb(levels))
    operation = get_operation_ast(parsed)
    assert operation is not None
    counter = cost._Counter(schema._schema, parsed, {})
    assert counter.operation(operation) == cost.CEILING
    # One memoized count per distinct merged selection: parent and children of each level
    # share theirs, so about one per level.
    assert len(counter.costs) <= levels + 5
