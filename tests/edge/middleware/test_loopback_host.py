"""Dev mode answers only loopback Host names; required mode answers any."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from config.settings import Settings
from edge.middleware.loopback_host import is_loopback_host
from storage import Store
from tests.harness import app_client, hs256_token

SECRET = "loopback-host-test-secret-" + "0123456789abcdef" * 4
CREATE = """mutation($name: String!) {
  createTag(input: {workspaceId: "ws-host", name: $name}) { tag { id } }
}"""
FIND = 'query($slug: String!) { tagBySlug(workspaceId: "ws-host", slug: $slug) { id } }'


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LocalHost",
        "localhost:8000",
        "127.0.0.1",
        "127.0.0.1:1",
        "[::1]",
        "[::1]:65535",
    ],
)
def test_loopback_names_with_any_port_pass(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "evil.example",
        "localhost.evil.example",
        "evil.localhost",
        # One character past each accepted form:
        "localhost.",
        "127.0.0.10",
        "127.0.0.2",
        "[::1]x",
        "localhost:",
        "localhost:123456",
        "::1",
        "0.0.0.0",
    ],
)
def test_anything_else_is_refused(host: str | None) -> None:
    assert not is_loopback_host(host)


@contextlib.asynccontextmanager
async def serve(store: Store, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(store, Settings(**settings)) as (_, http):
        yield http


async def test_dev_mode_refuses_a_foreign_host_before_executing(store: Store) -> None:
    async with serve(store) as http:
        refused = await http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"name": "Rebound"}},
            headers={"host": "rebind.example:8000"},
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        for probe in ("/healthz", "/metrics"):
            foreign = await http.get(probe, headers={"host": "rebind.example"})
            assert foreign.status_code == 400
        found = await http.post(
            "/graphql",
            json={"query": FIND, "variables": {"slug": "rebound"}},
            headers={"host": "127.0.0.1:8000"},
        )
        assert found.status_code == 200 and found.json()["data"] == {"tagBySlug": None}


async def test_required_mode_answers_any_host(store: Store) -> None:
    token = hs256_token(SECRET, "alice", "tags:write", ["ws-host"])
    async with serve(store, auth_mode="required", jwt_secret=SECRET) as http:
        answer = await http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"name": "Anywhere"}},
            headers={"host": "tags.example.com", "authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["createTag"]["tag"]["id"]


async def test_the_refusal_speaks_the_request_language(store: Store) -> None:
    async with serve(store) as http:
        refused = await http.get(
            "/healthz", headers={"host": "rebind.example", "accept-language": "fr"}
        )
    assert refused.status_code == 400 and refused.headers["content-language"] == "fr"
    assert refused.json()["errors"][0]["message"].startswith("En mode dev")
