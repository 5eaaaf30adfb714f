"""SERVICE.md 1.1 rate limits over HTTP, through the app on the suite's real store."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from storage import Store
from tests import harness
from tests.harness import hs256_token

SECRET = "rate-limit-test-secret-" + "0123456789abcdef" * 4
CREATE = """mutation($name: String!) {
  createTag(input: {workspaceId: "ws-rl", name: $name}) { tag { id } userErrors { code } }
}"""
FIND = 'query($slug: String!) { tagBySlug(workspaceId: "ws-rl", slug: $slug) { id } }'


def bearer(sub: str) -> dict[str, str]:
    return harness.bearer(hs256_token(SECRET, sub, "tags:write", ["ws-rl"]))


def serve(store: Store, **settings: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """The app with authentication required by SECRET, unless `settings` say otherwise."""
    return harness.serve(store, **{"auth_mode": "required", "jwt_secret": SECRET, **settings})


async def create(http: httpx.AsyncClient, sub: str, name: str) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": CREATE, "variables": {"name": name}}, headers=bearer(sub)
    )


async def test_over_the_limit_is_429_with_retry_after_and_nothing_runs(store: Store) -> None:
    async with serve(store, rate_limit=3) as http:
        answers = [await create(http, "alice", f"Tag {i}") for i in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]  # the third: just inside
        refused = await create(http, "alice", "One too many")
        assert refused.status_code == 429
        retry_after = refused.headers["retry-after"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
        body = refused.json()
        assert "data" not in body and len(body["errors"]) == 1
        assert body["errors"][0]["extensions"] == {
            "code": "RATE_LIMITED",
            "retryAfter": int(retry_after),
        }
        # Another principal has a count of its own, and sees that nothing ran.
        found = await http.post(
            "/graphql",
            json={"query": FIND, "variables": {"slug": "one-too-many"}},
            headers=bearer("bob"),
        )
        assert found.status_code == 200 and found.json()["data"] == {"tagBySlug": None}
        kept = await http.post(
            "/graphql",
            json={"query": FIND, "variables": {"slug": "tag-2"}},
            headers=bearer("bob"),
        )
        assert kept.json()["data"]["tagBySlug"] is not None


async def test_requests_refused_before_credentials_do_not_count(store: Store) -> None:
    async with serve(store, rate_limit=1) as http:
        for _ in range(3):
            unauthenticated = await http.post("/graphql", json={"query": "{ __typename }"})
            assert unauthenticated.status_code == 401
        assert (await create(http, "carol", "Counted")).status_code == 200
        assert (await create(http, "carol", "Refused")).status_code == 429


async def test_zero_turns_the_limit_off(store: Store) -> None:
    async with serve(store, rate_limit=0) as http:
        answers = [await create(http, "dave", f"Tag {i}") for i in range(5)]
        assert {a.status_code for a in answers} == {200}


async def test_dev_mode_has_no_rate_limit(store: Store) -> None:
    async with serve(store, auth_mode="dev", rate_limit=1) as http:
        for i in range(4):
            answer = await http.post(
                "/graphql", json={"query": CREATE, "variables": {"name": f"Dev {i}"}}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["createTag"]["userErrors"] == []


async def test_the_refusal_speaks_the_request_language(store: Store) -> None:
    async with serve(store, rate_limit=1) as http:
        assert (await create(http, "erika", "Eins")).status_code == 200
        refused = await http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"name": "Zwei"}},
            headers={**bearer("erika"), "accept-language": "de"},
        )
    assert refused.status_code == 429 and refused.headers["content-language"] == "de"
    error = refused.json()["errors"][0]
    assert error["message"].startswith("Anfragelimit überschritten: 1 Anfragen pro Minute")
    assert error["extensions"]["code"] == "RATE_LIMITED"
