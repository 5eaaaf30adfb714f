"""Real GraphQL clients against a running server: Python's gql, Node's urql and graphql-ws.

The HTTP clients run a query, a mutation answered with userErrors, and a
paginated walk; graphql-ws subscribes to tagEvents and sees the events of
tags made over HTTP.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.harness import NODE_ABSENT, hs256_token, live_server

NAMES = [f"Walk {i:02d}" for i in range(8)]


def _seed(url: str, workspace: str) -> None:
    import httpx

    drafts = [{"name": n} for n in NAMES]
    response = httpx.post(
        url,
        json={
            "query": "mutation($ws: ID!, $t: [TagDraft!]!) { createTags(input: {workspaceId: $ws, tags: $t}) { userErrors { code } } }",
            "variables": {"ws": workspace, "t": drafts},
        },
    )
    assert response.json()["data"]["createTags"]["userErrors"] == []


def test_python_gql_client() -> None:
    from gql import Client, GraphQLRequest, gql
    from gql.transport.httpx import HTTPXTransport

    with live_server() as url:
        _seed(url, "py")
        client = Client(transport=HTTPXTransport(url=url), fetch_schema_from_transport=True)
        with client as session:
            create = gql(
                "mutation($input: CreateTagInput!) { createTag(input: $input) {"
                " tag { name slug } userErrors { code field } } }"
            )
            created = session.execute(
                GraphQLRequest(
                    create, variable_values={"input": {"workspaceId": "py", "name": "From gql"}}
                )
            )
            assert created["createTag"] == {
                "tag": {"name": "From gql", "slug": "from-gql"},
                "userErrors": [],
            }
            duplicate = session.execute(
                GraphQLRequest(
                    create, variable_values={"input": {"workspaceId": "py", "name": "FROM GQL"}}
                )
            )
            assert duplicate["createTag"] == {
                "tag": None,
                "userErrors": [{"code": "NAME_TAKEN", "field": ["name"]}],
            }
            page = gql(
                'query($after: String) { tags(workspaceId: "py", first: 3, after: $after) {'
                " totalCount nodes { name } pageInfo { hasNextPage endCursor } } }"
            )
            walked, after = [], None
            while True:
                result = session.execute(GraphQLRequest(page, variable_values={"after": after}))[
                    "tags"
                ]
                walked += [n["name"] for n in result["nodes"]]
                if not result["pageInfo"]["hasNextPage"]:
                    break
                after = result["pageInfo"]["endCursor"]
    assert walked == sorted(["From gql", *NAMES], key=str.casefold)
    assert result["totalCount"] == len(NAMES) + 1


@pytest.mark.skipif(NODE_ABSENT, reason="node/npm absent")
def test_node_urql_client(node_clients: Path) -> None:
    with live_server() as url:
        _seed(url, "js")
        done = subprocess.run(
            ["node", "urql_client.mjs", url, "js"],
            cwd=node_clients,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["created"]["tag"]["slug"] == "from-urql" and out["created"]["userErrors"] == []
    assert out["duplicate"] == {
        "tag": None,
        "userErrors": [
            {
                "code": "NAME_TAKEN",
                "field": ["name"],
                "message": out["duplicate"]["userErrors"][0]["message"],
            }
        ],
    }
    assert out["walked"] == sorted(["From urql", *NAMES], key=str.casefold)
    assert out["totalCount"] == len(NAMES) + 1


GRAPHQL_WS_SECRET = "node-client-test-secret-of-32-bytes-or-more"


@pytest.mark.skipif(NODE_ABSENT, reason="node/npm absent")
def test_node_graphql_ws_subscription(node_clients: Path) -> None:

    token = hs256_token(GRAPHQL_WS_SECRET, "spa-user", "tags:write", ["live-js"])
    with live_server(TAGS_AUTH_MODE="required", TAGS_JWT_SECRET=GRAPHQL_WS_SECRET) as url:
        done = subprocess.run(
            ["node", "graphql_ws_client.mjs", url, "live-js", token],
            cwd=node_clients,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["first"]["kind"] == "CREATED" and out["first"]["tagId"] in out["probes"]
    assert out["after"] == {
        "kind": "CREATED",
        "tagId": out["afterId"],
        "workspaceId": "live-js",
        "tag": {"name": "After live"},
    }
