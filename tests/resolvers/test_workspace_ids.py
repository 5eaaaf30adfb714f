"""Workspace ids follow the contract's rule in every operation, before any store call.

The rule: 1-128 characters of ASCII letters, digits, `_`, `-`, `.` and `:`.
Anything else is BAD_USER_INPUT, never a second (silently empty) workspace.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputObjectType, GraphQLNamedType, GraphQLNonNull, GraphQLObjectType
from websockets.asyncio.client import connect

from resolvers.authorization import valid_workspace_id
from schema import TagsSchema, build_schema
from storage import Store
from tests.graphql_ws import PROTOCOL, WAIT, ws_url
from tests.harness import Executor, live_server
from tests.helpers import create_tag

MISSING = "tag_000000000000000000000000"
TASK = '{type: "task", id: "T-1"}'

# Every root field that takes a workspace id, directly or in its input.
OPERATIONS: dict[str, str] = {
    "tags": "query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }",
    "tagBySlug": 'query($ws: ID!) { tagBySlug(workspaceId: $ws, slug: "a") { id } }',
    "tagByName": 'query($ws: ID!) { tagByName(workspaceId: $ws, name: "A") { id } }',
    "similarTags": 'query($ws: ID!) { similarTags(workspaceId: $ws, name: "A") { id } }',
    "resourceTags": f"query($ws: ID!) {{ resourceTags(workspaceId: $ws, resource: {TASK}) {{ id }} }}",
    "taggedResources": (
        f'query($ws: ID!) {{ taggedResources(workspaceId: $ws, tagIds: ["{MISSING}"]) '
        "{ totalCount } }"
    ),
    "createTag": (
        'mutation($ws: ID!) { createTag(input: {workspaceId: $ws, name: "A"}) '
        "{ tag { id } userErrors { code } } }"
    ),
    "createTags": (
        'mutation($ws: ID!) { createTags(input: {workspaceId: $ws, tags: [{name: "A"}]}) '
        "{ tags { id } userErrors { code } } }"
    ),
    "deleteTags": (
        f'mutation($ws: ID!) {{ deleteTags(input: {{workspaceId: $ws, ids: ["{MISSING}"]}}) '
        "{ deletedIds userErrors { code } } }"
    ),
    "addTagsToResources": (
        "mutation($ws: ID!) { addTagsToResources(input: {workspaceId: $ws, "
        f'resources: [{TASK}], tagNames: ["A"], createMissing: true}}) {{ addedCount userErrors {{ code }} }} }}'
    ),
    "removeTagsFromResources": (
        "mutation($ws: ID!) { removeTagsFromResources(input: {workspaceId: $ws, "
        f'resources: [{TASK}], tagIds: ["{MISSING}"]}}) {{ removedCount userErrors {{ code }} }} }}'
    ),
    "setResourceTags": (
        "mutation($ws: ID!) { setResourceTags(input: {workspaceId: $ws, "
        f"resource: {TASK}, tagIds: []}}) {{ resource {{ id }} userErrors {{ code }} }} }}"
    ),
    "archiveTags": (
        f'mutation($ws: ID!) {{ archiveTags(input: {{workspaceId: $ws, ids: ["{MISSING}"]}}) '
        "{ notFoundIds userErrors { code } } }"
    ),
    "restoreTags": (
        f'mutation($ws: ID!) {{ restoreTags(input: {{workspaceId: $ws, ids: ["{MISSING}"]}}) '
        "{ notFoundIds userErrors { code } } }"
    ),
    "exportTags": "query($ws: ID!) { exportTags(workspaceId: $ws, format: CSV) { tagCount } }",
    "tagChanges": "query($ws: ID!) { tagChanges(workspaceId: $ws) { nodes { id } } }",
    "importTags": (
        "mutation($ws: ID!) { importTags(input: {workspaceId: $ws, format: CSV, "
        'content: "name\\r\\nAlpha\\r\\n"}) { created userErrors { code } } }'
    ),
}
SUBSCRIPTION = "subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind tagId } }"

BAD_IDS = [
    " demo",  # a stray space: used to be a second workspace next to "demo"
    "demo ",
    "  ",
    "",
    "w" * 129,
    "demo\n",
    "a b",
    "a/b",
    "a,b",
    "*",  # the wildcard of a token's workspaces claim is not a workspace
    "café",
    "\uff44\uff45\uff4d\uff4f",  # fullwidth letters that look like "demo"
    "demo\u200b",
    "ws\x00main",
]
GOOD_IDS = ["a", "0", "w" * 128, "Acme_1.prod:eu-west-1", "org:42", "-._:"]


def _takes_workspace(field: Any) -> bool:
    for arg_name, arg in field.args.items():
        if arg_name == "workspaceId":
            return True
        arg_type = arg.type.of_type if isinstance(arg.type, GraphQLNonNull) else arg.type
        if isinstance(arg_type, GraphQLInputObjectType) and "workspaceId" in arg_type.fields:
            return True
    return False


def _root(schema: TagsSchema, name: str) -> GraphQLObjectType:
    root: GraphQLNamedType | None = schema._schema.get_type(name)
    assert isinstance(root, GraphQLObjectType)
    return root


def _fields_taking_a_workspace(schema: TagsSchema, root: str) -> set[str]:
    return {n for n, f in _root(schema, root).fields.items() if _takes_workspace(f)}


def test_every_operation_with_a_workspace_is_covered(schema: TagsSchema) -> None:
    taking = _fields_taking_a_workspace(schema, "Query") | _fields_taking_a_workspace(
        schema, "Mutation"
    )
    assert taking <= set(OPERATIONS), f"add these to OPERATIONS: {taking - set(OPERATIONS)}"
    assert _fields_taking_a_workspace(schema, "Subscription") == {"tagEvents"}


def _in_this_schema() -> list[str]:
    # tagByName/similarTags (contract 1.1) are checked as soon as the schema has them;
    # the test above makes sure no field that takes a workspace goes unchecked.
    built = build_schema()
    fields = set(_root(built, "Query").fields) | set(_root(built, "Mutation").fields)
    return [name for name in OPERATIONS if name in fields]


@pytest.mark.parametrize("operation", _in_this_schema())
async def test_malformed_workspace_ids_are_refused_before_the_store(
    gql: Executor, store: Store, operation: str
) -> None:
    for workspace in BAD_IDS:
        result = await gql(OPERATIONS[operation], {"ws": workspace})
        assert result.error_codes == ["BAD_USER_INPUT"], (workspace, result.errors)
        assert result.round_trips == 0, workspace
        assert "workspaceId" in result.errors[0]["message"]
    assert await store.database.db["tags"].count_documents({}) == 0
    assert await store.database.db["taggings"].count_documents({}) == 0


def test_the_rule_itself() -> None:
    assert [w for w in BAD_IDS if valid_workspace_id(w)] == []
    assert [w for w in GOOD_IDS if not valid_workspace_id(w)] == []


async def test_a_stray_space_does_not_make_a_second_workspace(gql: Executor, store: Store) -> None:
    await create_tag(gql, "Bug", workspace="demo")
    result = await gql(OPERATIONS["createTag"], {"ws": " demo"})
    assert result.error_codes == ["BAD_USER_INPUT"]
    listed = await gql(OPERATIONS["tags"], {"ws": "demo"})
    assert listed.ok()["tags"]["totalCount"] == 1
    assert await store.database.db["tags"].distinct("ws") == ["demo"]


@pytest.mark.parametrize("workspace", GOOD_IDS)
async def test_every_allowed_character_makes_a_workspace(gql: Executor, workspace: str) -> None:
    tag = await create_tag(gql, "Alpha", workspace=workspace)
    assert tag["workspaceId"] == workspace
    listed = await gql(OPERATIONS["tags"], {"ws": workspace})
    assert listed.ok()["tags"]["totalCount"] == 1


@pytest.fixture(scope="module")
def live_url() -> Any:
    with live_server() as url:
        yield url


@pytest.mark.parametrize("workspace", [" demo", "", "a/b", "*"])
async def test_subscription_refuses_a_malformed_workspace(live_url: str, workspace: str) -> None:
    async with connect(ws_url(live_url), subprotocols=[PROTOCOL], open_timeout=WAIT) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
        assert ack["type"] == "connection_ack"
        subscribe = {"query": SUBSCRIPTION, "variables": {"ws": workspace}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        message = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors


async def test_over_http_a_malformed_workspace_is_named_in_the_answer(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", json={"query": OPERATIONS["tags"], "variables": {"ws": "demo "}}
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'demo '" in body["errors"][0]["message"]
