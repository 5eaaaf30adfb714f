"""Query limits of SERVICE.md: depth, aliases, tokens, page sizes, ids, workspace ids."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from config.settings import Settings
from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from schema import build_schema
from storage import Store
from tests.harness import Executor, app_client
from tests.helpers import WS, create_tag

MISSING_TAG = "tag_" + "0" * 24
TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_INPUT = "BAD_USER_INPUT"


def nested_parents(depth: int) -> str:
    """`tag(id:) { parent { ... { id } } }` nested exactly `depth` levels, leaves counted."""
    assert depth >= 2
    inner = "id"
    for _ in range(depth - 2):
        inner = f"parent {{ {inner} }}"
    return f'{{ tag(id: "{MISSING_TAG}") {{ {inner} }} }}'


def fragment_chain(depth: int) -> str:
    """The same depth, but each `parent` level comes from its own named fragment."""
    levels = depth - 2
    fragments = [f"fragment F{i} on Tag {{ parent {{ ...F{i + 1} }} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Tag {{ id }}")
    return f'{{ tag(id: "{MISSING_TAG}") {{ ...F0 }} }}\n' + "\n".join(fragments)


def inline_chain(depth: int) -> str:
    """The same depth, with every `parent` level wrapped in an inline fragment."""
    inner = "... on Tag { id }"
    for _ in range(depth - 2):
        inner = f"... on Tag {{ parent {{ {inner} }} }}"
    return f'{{ tag(id: "{MISSING_TAG}") {{ {inner} }} }}'


def codes(result: Any) -> list[str]:
    return list(result.error_codes)


def assert_too_complex(result: Any) -> None:
    assert result.data is None, result.data
    assert codes(result) == [TOO_COMPLEX], result.errors


@contextlib.asynccontextmanager
async def serve(store: Store, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(store, Settings(**settings)) as (_, http):
        yield http


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    return response


# Depth -------------------------------------------------------------------------


@pytest.mark.parametrize("build", [nested_parents, fragment_chain, inline_chain])
async def test_depth_twelve_passes_thirteen_does_not(
    gql: Executor, build: Callable[[int], str]
) -> None:
    ok = await gql(build(12))
    assert ok.errors == []
    assert ok.data == {"tag": None}

    refused = await gql(build(13))
    assert_too_complex(refused)


async def test_depth_limit_over_http_has_no_data(client: httpx.AsyncClient) -> None:
    response = await post(client, nested_parents(13))
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [TOO_COMPLEX]

    fine = (await post(client, nested_parents(12))).json()
    assert fine["data"] == {"tag": None}
    assert "errors" not in fine
    assert "cost" in fine["extensions"]


async def test_depth_counts_the_deepest_branch(gql: Executor) -> None:
    # A shallow sibling does not hide a deep branch, whatever the order.
    deep = nested_parents(13)[1:-1]
    assert_too_complex(await gql(f"{{ viewer {{ id }} {deep} }}"))
    assert_too_complex(await gql(f"{{ {deep} viewer {{ id }} }}"))


async def test_depth_with_real_data(gql: Executor) -> None:
    # The limit is about the document: a real hierarchy answers at depth 12.
    root = await create_tag(gql, "Root")
    child = await create_tag(gql, "Child", parentId=root["id"])
    inner = "id"
    for _ in range(10):
        inner = f"id parent {{ {inner} }}"
    result = await gql(f'{{ tag(id: "{child["id"]}") {{ {inner} }} }}')  # depth 12
    assert result.errors == []
    # The child's parent is the root, which has no parent: the rest is null.
    tag = result.data["tag"]
    assert tag["id"] == child["id"]
    assert tag["parent"]["id"] == root["id"]
    assert tag["parent"]["parent"] is None


async def test_standard_introspection_query_passes(gql: Executor) -> None:
    result = await gql(get_introspection_query(descriptions=True))
    assert result.errors == []
    names = {t["name"] for t in result.data["__schema"]["types"]}
    assert {"Tag", "Viewer", "ErrorCode"} <= names


async def test_type_introspection_is_not_counted(gql: Executor) -> None:
    nested = "name"
    for _ in range(12):
        nested = f"ofType {{ {nested} }}"
    result = await gql(f'{{ __type(name: "Tag") {{ fields {{ type {{ {nested} }} }} }} }}')
    assert result.errors == []
    assert result.data["__type"]["fields"]


# Aliases -----------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(count)) + " }"


async def test_thirty_aliases_pass_thirty_one_do_not(gql: Executor) -> None:
    ok = await gql(aliased(30))
    assert ok.errors == []
    assert len(ok.data) == 30

    assert_too_complex(await gql(aliased(31)))


async def test_nested_aliases_count_too(gql: Executor) -> None:
    fourteen = " ".join(f"i{i}: id" for i in range(14))
    # 2 aliased viewers + 2 x 14 aliased ids = 30.
    ok = await gql(f"{{ a: viewer {{ {fourteen} }} b: viewer {{ {fourteen} }} }}")
    assert ok.errors == [], ok.errors
    refused = await gql(f"{{ a: viewer {{ {fourteen} }} b: viewer {{ {fourteen} extra: id }} }}")
    assert_too_complex(refused)


def spreads(count: int) -> str:
    ten = " ".join(f"v{i}: id" for i in range(10))
    return f"{{ viewer {{ {'...V ' * count}}} }}\nfragment V on Viewer {{ {ten} }}"


async def test_aliases_in_fragments_count_per_spread(gql: Executor) -> None:
    ok = await gql(spreads(3))  # 30 aliases
    assert ok.errors == [], ok.errors
    assert ok.data["viewer"]["v9"] == DEV_PRINCIPAL.id

    assert_too_complex(await gql(spreads(4)))  # 40 aliases, though only 10 are written

    ten = " ".join(f"v{i}: id" for i in range(10))
    three_fields = f"""{{ a: viewer {{ ...V }} b: viewer {{ ...V }} c: viewer {{ ...V }} }}
    fragment V on Viewer {{ {ten} }}"""
    assert_too_complex(await gql(three_fields))  # 3 + 3 x 10


async def test_alias_limit_is_per_operation(gql: Executor) -> None:
    # Two operations of 20 aliases each in one document: each one is within the limit.
    twenty = " ".join(f"a{i}: viewer {{ id }}" for i in range(20))
    document = f"query One {{ {twenty} }} query Two {{ {twenty} }}"
    schema = gql.schema
    context = make_context(None, DEV_PRINCIPAL, gql.store)
    result = await schema.execute(document, context_value=context, operation_name="Two")
    assert not result.errors, result.errors
    assert len(result.data) == 20


# Tokens ------------------------------------------------------------------------


def nodes_query(id_count: int) -> str:
    """`{ nodes(ids: [...]) { id } }` is id_count + 12 tokens."""
    ids = ", ".join(f'"x{i}"' for i in range(id_count))
    return f"{{ nodes(ids: [{ids}]) {{ id }} }}"


async def test_token_limit(gql: Executor) -> None:
    # Exactly 5000 tokens parse (then the resolver refuses the 4988 ids)...
    at_limit = await gql(nodes_query(4988))
    assert codes(at_limit) == [BAD_INPUT], at_limit.errors
    # ...one more is refused before anything else, with the limit's own code.
    over = await gql(nodes_query(4989))
    assert_too_complex(over)
    assert "cost" not in over.extensions


async def test_token_limit_over_http(client: httpx.AsyncClient) -> None:
    response = await post(client, nodes_query(6000))
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [TOO_COMPLEX]


async def test_comments_do_not_smuggle_tokens_past_the_limit(gql: Executor) -> None:
    padded = "{ viewer { id } }\n" + "# padding\n" * 6000
    result = await gql(padded)
    assert_too_complex(result)


# Fragment bombs -------------------------------------------------------------------


def fragment_bomb(levels: int, leaf: str) -> str:
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Query {{ {leaf} }}")
    return "{ ...F0 }\n" + "\n".join(fragments)


async def test_exponential_fragment_spreads_are_answered_quickly(gql: Executor) -> None:
    started = time.perf_counter()
    result = await gql(fragment_bomb(20, "viewer { id }"))
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed
    assert result.errors == []
    assert result.data == {"viewer": {"id": DEV_PRINCIPAL.id}}


async def test_exponential_fragment_spreads_with_aliases_are_refused_quickly(gql: Executor) -> None:
    started = time.perf_counter()
    result = await gql(fragment_bomb(20, "me: viewer { id }"))
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed
    # 2**20 spreads of one alias each.
    assert_too_complex(result)


async def test_deep_fragment_bomb_over_http(client: httpx.AsyncClient) -> None:
    fragments = [
        f"fragment F{i} on Tag {{ parent {{ ...F{i + 1} ...F{i + 1} }} }}" for i in range(20)
    ]
    fragments.append("fragment F20 on Tag { id }")
    document = f'{{ tag(id: "{MISSING_TAG}") {{ ...F0 }} }}\n' + "\n".join(fragments)
    started = time.perf_counter()
    response = await post(client, document)
    assert time.perf_counter() - started < 5
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [TOO_COMPLEX]


async def test_fragment_cycles_are_refused_not_looped(gql: Executor) -> None:
    document = (
        '{ tag(id: "x") { ...A } } '
        "fragment A on Tag { parent { ...B } } fragment B on Tag { parent { ...A } }"
    )
    result = await gql(document)
    assert result.data is None
    assert result.errors


# Introspection and GraphiQL ---------------------------------------------------------

SCHEMA_QUERY = "{ __schema { types { name } } }"


async def test_introspection_can_be_disabled(store: Store) -> None:
    closed = build_schema(introspection=False)
    context = make_context(None, DEV_PRINCIPAL, store)
    refused = await closed.execute(SCHEMA_QUERY, context_value=context)
    assert refused.data is None
    assert refused.errors
    refused_type = await closed.execute('{ __type(name: "Tag") { name } }', context_value=context)
    assert refused_type.data is None and refused_type.errors
    # Ordinary queries still run.
    fine = await closed.execute(
        "{ viewer { id } }", context_value=make_context(None, DEV_PRINCIPAL, store)
    )
    assert not fine.errors


async def test_introspection_setting_over_http(store: Store) -> None:
    async with serve(store, introspection=False) as http:
        body = (await post(http, SCHEMA_QUERY)).json()
        assert "data" not in body
        assert body["errors"]
        assert all(e["extensions"]["code"] for e in body["errors"])
        assert "Tag" not in str(body)
    async with serve(store, introspection=True) as http:
        body = (await post(http, SCHEMA_QUERY)).json()
        assert "errors" not in body
        assert "Tag" in {t["name"] for t in body["data"]["__schema"]["types"]}


async def test_graphiql_can_be_disabled(store: Store) -> None:
    browser = {"accept": "text/html,application/xhtml+xml"}
    async with serve(store, graphiql=False) as http:
        page = await http.get("/graphql", headers=browser)
        assert "graphiql" not in page.text.lower()
        assert not page.headers.get("content-type", "").startswith("text/html")
    async with serve(store, graphiql=True) as http:
        page = await http.get("/graphql", headers=browser)
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()


# Page sizes and id lists ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    ["first: 101", "last: 101", "first: -1", "last: -1", "first: 1, last: 1", "first: 1000000"],
)
async def test_page_size_limits(gql: Executor, args: str) -> None:
    result = await gql(f'{{ tags(workspaceId: "{WS}", {args}) {{ totalCount }} }}')
    assert codes(result) == [BAD_INPUT], result.errors
    assert result.data is None
    assert result.round_trips == 0


@pytest.mark.parametrize("args", ["first: 0", "first: 100", "last: 100", "last: 0", ""])
async def test_page_sizes_within_limits(gql: Executor, args: str) -> None:
    arguments = f'workspaceId: "{WS}"' + (f", {args}" if args else "")
    result = await gql(f"{{ tags({arguments}) {{ totalCount }} }}")
    assert result.errors == [], result.errors


async def test_connection_limits_elsewhere(gql: Executor) -> None:
    tag = await create_tag(gql, "Parent")
    children = await gql(
        "query($id: ID!) { tag(id: $id) { children(first: 101) { id } } }", {"id": tag["id"]}
    )
    assert codes(children) == [BAD_INPUT]
    resources = await gql(
        "query($id: ID!) { tag(id: $id) { resources(first: 101) { totalCount } } }",
        {"id": tag["id"]},
    )
    assert codes(resources) == [BAD_INPUT]
    tagged = await gql(
        "query($ws: ID!, $id: ID!) { taggedResources(workspaceId: $ws, tagIds: [$id], last: 101) "
        "{ totalCount } }",
        {"ws": WS, "id": tag["id"]},
    )
    assert codes(tagged) == [BAD_INPUT]


async def test_nodes_takes_at_most_100_ids(gql: Executor) -> None:
    ids = [f"tag_{i:024x}" for i in range(101)]
    refused = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert codes(refused) == [BAD_INPUT]
    assert refused.data is None
    assert refused.round_trips == 0

    ok = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids[:100]})
    assert ok.errors == []
    assert ok.data == {"nodes": [None] * 100}


async def test_filter_ids_takes_at_most_100(gql: Executor) -> None:
    ids = [f"tag_{i:024x}" for i in range(101)]
    query = (
        "query($ws: ID!, $ids: [ID!]) "
        "{ tags(workspaceId: $ws, filter: {ids: $ids}) { totalCount } }"
    )
    refused = await gql(query, {"ws": WS, "ids": ids})
    assert codes(refused) == [BAD_INPUT]
    assert refused.round_trips == 0
    ok = await gql(query, {"ws": WS, "ids": ids[:100]})
    assert ok.errors == []
    assert ok.data["tags"]["totalCount"] == 0


# Workspace ids ---------------------------------------------------------------------

BAD_WORKSPACES = ["w" * 129, "ws\nmain", "", "ws\tmain", "ws\x00main"]
WORKSPACE_QUERIES = [
    "query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }",
    'query($ws: ID!) { tagBySlug(workspaceId: $ws, slug: "a") { id } }',
    'query($ws: ID!) { resourceTags(workspaceId: $ws, resource: {type: "task", id: "1"}) { id } }',
    "query($ws: ID!) { taggedResources(workspaceId: $ws, tagIds: "
    '["tag_000000000000000000000000"]) { totalCount } }',
]


@pytest.mark.parametrize(
    "workspace", BAD_WORKSPACES, ids=["129-chars", "newline", "empty", "tab", "nul"]
)
@pytest.mark.parametrize(
    "query", WORKSPACE_QUERIES, ids=["tags", "tagBySlug", "resourceTags", "taggedResources"]
)
async def test_malformed_workspace_id_never_reaches_the_store(
    gql: Executor, workspace: str, query: str
) -> None:
    result = await gql(query, {"ws": workspace})
    assert codes(result) == [BAD_INPUT], result.errors
    # Nullable fields resolve to null, non-null ones null the whole data.
    assert result.data is None or set(result.data.values()) == {None}
    assert result.round_trips == 0


async def test_malformed_workspace_id_in_a_mutation(gql: Executor, store: Store) -> None:
    mutation = """mutation($ws: ID!) {
      createTag(input: {workspaceId: $ws, name: "Nope"}) { tag { id } userErrors { code } }
    }"""
    result = await gql(mutation, {"ws": "w" * 129})
    assert codes(result) == [BAD_INPUT], result.errors
    assert result.round_trips == 0


async def test_longest_workspace_id_is_fine(gql: Executor) -> None:
    longest = "w" * 128
    await create_tag(gql, "Alpha", workspace=longest)
    result = await gql("query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }", {"ws": longest})
    assert result.errors == []
    assert result.data["tags"]["totalCount"] == 1


async def test_malformed_workspace_id_over_http(client: httpx.AsyncClient) -> None:
    query = "query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }"
    response = await post(client, query, {"ws": "a\nb"})
    body = response.json()
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in body["errors"]] == [BAD_INPUT]
    assert body["extensions"]["cost"]["dbRoundTrips"] == 0
