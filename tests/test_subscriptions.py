"""tagEvents over graphql-transport-ws: order, scoping, credentials, freshness."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server import create_app
from settings import Settings
from tests.harness import drop_database, fresh_db_name, store_uri

PROTOCOL = "graphql-transport-ws"
SECRET = "subscription-test-secret-of-32-bytes-or-more"
SUBSCRIBE = "subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind tagId workspaceId at tag { name usageCount } } }"
CREATE = "mutation($ws: ID!, $name: String!) { createTag(input: {workspaceId: $ws, name: $name}) { tag { id } } }"
RENAME = (
    "mutation($id: ID!, $name: String!) { updateTag(input: {id: $id, name: $name}) { tag { id } } }"
)
TAG = 'mutation($ws: ID!, $id: ID!) { addTagsToResources(input: {workspaceId: $ws, resources: [{type: "task", id: "1"}], tagIds: [$id]}) { addedCount } }'
DELETE = "mutation($id: ID!) { deleteTag(input: {id: $id}) { deletedTagIds } }"


def token(workspaces: list[str], scope: str = "tags:read tags:write") -> str:
    claims = {
        "sub": "user-1",
        "exp": int(time.time()) + 600,
        "scope": scope,
        "workspaces": workspaces,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def on_suite_store(**fields: Any) -> Settings:
    # The app opens its own driver inside the TestClient's event loop.
    return Settings(mongodb_uri=store_uri(), mongodb_db=fresh_db_name(), **fields)


@pytest.fixture
def dev_client():
    settings = on_suite_store()
    with TestClient(create_app(settings)) as client:
        yield client
    drop_database(settings.mongodb_db)


@pytest.fixture
def secured_client():
    settings = on_suite_store(auth_mode="required", jwt_secret=SECRET)
    with TestClient(create_app(settings)) as client:
        yield client
    drop_database(settings.mongodb_db)


def gql(
    client: TestClient, query: str, auth: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {auth}"} if auth else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def start(ws: Any, workspace: str, payload: dict[str, Any] | None = None) -> None:
    ws.send_json({"type": "connection_init", "payload": payload or {}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": SUBSCRIBE, "variables": {"ws": workspace}},
        }
    )


def next_event(ws: Any) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    return message["payload"]["data"]["tagEvents"]  # type: ignore[no-any-return]


def wait_for_subscriber(client: TestClient, workspace: str) -> None:
    bus = client.app.state.bus  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while bus.subscriber_count(workspace) == 0:
        assert time.monotonic() < deadline, "the subscription never registered"
        time.sleep(0.01)


def test_events_arrive_in_commit_order_with_fresh_tags(dev_client):
    with dev_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, "w1")
        wait_for_subscriber(dev_client, "w1")
        tag_id = gql(dev_client, CREATE, ws="w1", name="First")["createTag"]["tag"]["id"]
        gql(dev_client, RENAME, id=tag_id, name="Second")
        gql(dev_client, RENAME, id=tag_id, name="Third")
        gql(dev_client, TAG, ws="w1", id=tag_id)
        gql(dev_client, DELETE, id=tag_id)
        events = [next_event(ws) for _ in range(5)]
    assert [e["kind"] for e in events] == [
        "CREATED",
        "UPDATED",
        "UPDATED",
        "USAGE_CHANGED",
        "DELETED",
    ]
    assert {e["tagId"] for e in events} == {tag_id}
    assert {e["workspaceId"] for e in events} == {"w1"}
    # Each event shows the tag as it is when delivered, never an earlier load.
    names = [e["tag"]["name"] if e["tag"] else None for e in events]
    assert names[0] in ("First", "Second", "Third")
    assert names[2] == "Third" and events[3]["tag"]["usageCount"] == 1
    assert events[4]["tag"] is None
    assert all(e["at"].endswith("Z") for e in events)


def test_only_the_subscribed_workspace(dev_client):
    with dev_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, "mine")
        wait_for_subscriber(dev_client, "mine")
        gql(dev_client, CREATE, ws="theirs", name="Hidden")
        gql(dev_client, CREATE, ws="mine", name="Shown")
        event = next_event(ws)
    assert event["workspaceId"] == "mine" and event["tag"]["name"] == "Shown"


def test_failed_mutation_publishes_nothing(dev_client):
    with dev_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, "w1")
        wait_for_subscriber(dev_client, "w1")
        gql(dev_client, CREATE, ws="w1", name="Dup")
        duplicate = gql(dev_client, CREATE, ws="w1", name="DUP")
        assert duplicate["createTag"]["tag"] is None
        gql(dev_client, CREATE, ws="w1", name="After")
        first, second = next_event(ws), next_event(ws)
    assert [first["tag"]["name"], second["tag"]["name"]] == ["Dup", "After"]


def test_legacy_graphql_ws_protocol_is_refused(dev_client):
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        dev_client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4406


def test_credentials_in_connection_init(secured_client):
    with secured_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, "w1", {"Authorization": f"Bearer {token(['w1'])}"})
        wait_for_subscriber(secured_client, "w1")
        gql(secured_client, CREATE, auth=token(["w1"]), ws="w1", name="Seen")
        assert next_event(ws)["tag"]["name"] == "Seen"


def test_credentials_in_upgrade_headers(secured_client):
    headers = {"authorization": f"Bearer {token(['w1'])}"}
    with secured_client.websocket_connect(
        "/graphql", subprotocols=[PROTOCOL], headers=headers
    ) as ws:
        start(ws, "w1")
        wait_for_subscriber(secured_client, "w1")


@pytest.mark.parametrize(
    "payload", [{}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "tk_nope"}]
)
def test_refused_credentials_close_with_4403(secured_client, payload):
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        secured_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": payload})
        ws.receive_json()
    assert closed.value.code == 4403


def test_workspace_without_access_is_forbidden(secured_client):
    with secured_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, "other", {"Authorization": f"Bearer {token(['w1'])}"})
        message = ws.receive_json()
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
