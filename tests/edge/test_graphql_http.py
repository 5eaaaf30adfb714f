"""HTTP-level tests through the ASGI app: transport, negotiation, limits, probes."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from storage import Store, StoreError
from tests.helpers import WS

GRAPHQL_RESPONSE = "application/graphql-response+json"
QUERY_TAGS = "query($ws: ID!) { tags(workspaceId: $ws) { totalCount nodes { name } } }"
CREATE = """mutation($name: String!) {
  createTag(input: {workspaceId: "ws-main", name: $name}) { tag { name } userErrors { code } }
}"""


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )


async def test_post_query_and_mutation_with_cost(client: httpx.AsyncClient) -> None:
    created = await post(client, CREATE, {"name": "Alpha"})
    assert created.status_code == 200
    body = created.json()
    assert body["data"]["createTag"] == {"tag": {"name": "Alpha"}, "userErrors": []}
    assert body["extensions"]["cost"]["dbRoundTrips"] >= 1

    listed = await post(client, QUERY_TAGS, {"ws": WS})
    assert listed.json()["data"]["tags"] == {"totalCount": 1, "nodes": [{"name": "Alpha"}]}
    assert listed.headers["content-type"].startswith("application/json")


async def test_same_query_same_cost(client: httpx.AsyncClient) -> None:
    await post(client, CREATE, {"name": "Alpha"})
    costs = [
        (await post(client, QUERY_TAGS, {"ws": WS})).json()["extensions"]["cost"]["dbRoundTrips"]
        for _ in range(3)
    ]
    assert len(set(costs)) == 1 and costs[0] >= 1


async def test_get_runs_queries_and_refuses_mutations(client: httpx.AsyncClient) -> None:
    ok = await client.get("/graphql", params={"query": QUERY_TAGS, "variables": '{"ws": "w"}'})
    assert ok.status_code == 200
    assert ok.json()["data"]["tags"]["totalCount"] == 0

    refused = await client.get("/graphql", params={"query": CREATE, "variables": '{"name": "x"}'})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    # Nothing was created.
    listed = await post(client, QUERY_TAGS, {"ws": WS})
    assert listed.json()["data"]["tags"]["totalCount"] == 0


async def test_a_subscription_by_plain_post_is_told_where_subscriptions_are_served(
    client: httpx.AsyncClient,
) -> None:
    subscription = "subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind } }"
    refused = await post(client, subscription, {"ws": WS})
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert "WebSocket" in message and "text/event-stream" in message
    assert "GET" not in message


async def test_graphiql_for_browsers(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_graphql_response_media_type(client: httpx.AsyncClient) -> None:
    accept = {"accept": GRAPHQL_RESPONSE}
    good = await post(client, QUERY_TAGS, {"ws": WS}, headers=accept)
    assert good.status_code == 200
    assert good.headers["content-type"].startswith(GRAPHQL_RESPONSE)

    invalid = await post(client, "{ nope }", headers=accept)
    assert invalid.status_code == 400
    assert "data" not in invalid.json()
    assert invalid.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    # The legacy media type answers validation errors with 200, still without data.
    legacy = await post(client, "{ nope }", headers={"accept": "application/json"})
    assert legacy.status_code == 200
    assert "data" not in legacy.json()
    assert "extensions" not in legacy.json() or "cost" not in legacy.json()["extensions"]


async def test_unacceptable_accept_and_content_type(client: httpx.AsyncClient) -> None:
    assert (
        await post(client, QUERY_TAGS, {"ws": WS}, headers={"accept": "text/csv"})
    ).status_code == 406
    wrong_type = await client.post(
        "/graphql", content=b"query { viewer { id } }", headers={"content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    broken = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    no_query = await client.post("/graphql", json={"variables": {}})
    assert no_query.status_code == 400


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    big = orjson.dumps({"query": "{ viewer { id } }", "variables": {"pad": "x" * (1024 * 1024)}})
    response = await client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_errors_carry_codes_and_no_internals(client: httpx.AsyncClient) -> None:
    response = await post(client, '{ tags(workspaceId: "w", first: 500) { totalCount } }')
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["data"] is None
    assert "cost" in body["extensions"]


async def test_internal_faults_are_masked(
    client: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret driver detail at /internal/path.py")

    monkeypatch.setattr(type(store.tags), "page", broken)
    response = await post(client, QUERY_TAGS, {"ws": WS}, headers={"x-request-id": "req-123"})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "secret" not in response.text and "internal/path" not in response.text
    assert response.headers["x-request-id"] == "req-123"


async def test_request_id_generated(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) >= 16


async def test_health_and_readiness(
    client: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200

    async def down(self: Store) -> None:
        raise StoreError("ServerSelectionTimeoutError")

    monkeypatch.setattr(type(store), "ping", down)
    assert (await client.get("/readyz")).status_code == 503
    assert (await client.get("/healthz")).status_code == 200
