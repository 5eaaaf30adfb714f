"""`tags-admin token create`: a development JWT the configured service accepts."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from cli import tags_admin
from config.settings import Settings
from storage import Store
from tests.harness import app_client

SECRET = "token-create-test-secret-of-32-bytes-or-more"
ISSUER, AUDIENCE = "https://issuer.example", "tags-api"
VIEWER = "{ viewer { id scopes workspaceIds } }"
CREATE = (
    'mutation($ws: ID!) { createTag(input: {workspaceId: $ws, name: "Minted"}) '
    "{ tag { createdBy } userErrors { code } } }"
)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGS_JWT_SECRET", SECRET)
    monkeypatch.setenv("TAGS_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("TAGS_JWT_AUDIENCE", AUDIENCE)


@pytest.fixture
async def secured(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        auth_mode="required", jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )
    async with app_client(store, settings) as (_, http):
        yield http


def mint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = tags_admin.main(["token", "create", *args])
    out, err = capsys.readouterr()
    return code, out, err


async def post(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    return response


async def test_the_printed_token_is_accepted_by_the_service(
    configured: None, capsys: pytest.CaptureFixture[str], secured: httpx.AsyncClient
) -> None:
    code, out, err = mint(
        capsys, "--sub", "alice", "--scopes", "tags:write", "--workspaces", "demo,ws-2"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1, out
    token = lines[0]
    assert "alice" in err and "valid until" in err

    viewer = (await post(secured, token, VIEWER)).json()["data"]["viewer"]
    assert viewer == {"id": "alice", "scopes": ["tags:write"], "workspaceIds": ["demo", "ws-2"]}
    created = (await post(secured, token, CREATE, ws="demo")).json()["data"]["createTag"]
    assert created == {"tag": {"createdBy": "alice"}, "userErrors": []}
    refused = (await post(secured, token, CREATE, ws="elsewhere")).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_token_signed_with_another_secret_is_refused(
    configured: None, capsys: pytest.CaptureFixture[str], secured: httpx.AsyncClient
) -> None:
    code, out, _ = mint(capsys, "--sub", "bob", "--scopes", "tags:read", "--workspaces", "*")
    assert code == 0
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    assert (await post(secured, forged, VIEWER)).status_code == 401
    assert (await post(secured, out.strip(), VIEWER)).status_code == 200


@pytest.mark.parametrize(
    ("given", "seconds"), [("1h", 3600), ("15m", 900), ("90", 90), ("7d", 604800)]
)
def test_expiry(
    configured: None, capsys: pytest.CaptureFixture[str], given: str, seconds: int
) -> None:
    code, out, _ = mint(
        capsys, "--sub", "c", "--scopes", "tags:read", "--workspaces", "*", "--expires", given
    )
    assert code == 0
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == seconds
    assert claims["scope"] == "tags:read" and claims["workspaces"] == ["*"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--scopes", "tags:everything", "--workspaces", "demo"], "scopes must be among"),
        (["--scopes", "tags:read", "--workspaces", " demo, a/b"], "not a workspace id"),
        (["--scopes", "tags:read", "--workspaces", ","], "--workspaces"),
        (["--scopes", "tags:read", "--workspaces", "demo", "--expires", "1y"], "--expires"),
        (["--scopes", "tags:read", "--workspaces", "demo", "--expires", "0"], "--expires"),
        (["--scopes", "tags:read", "--workspaces", "demo", "--expires", "400d"], "--expires"),
    ],
)
def test_bad_arguments_print_nothing_on_stdout(
    configured: None, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, out, err = mint(capsys, "--sub", "d", *args)
    assert code == 2 and out == ""
    assert says in err, err


def test_without_a_secret_it_says_which_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAGS_JWT_SECRET", raising=False)
    code, out, err = mint(capsys, "--sub", "e", "--scopes", "tags:read", "--workspaces", "*")
    assert code == 2 and out == ""
    assert "TAGS_JWT_SECRET" in err


async def test_keys_create_refuses_a_malformed_workspace(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(name="ci", scopes="tags:read", workspaces="ws-a, demo ,x y")
    assert await tags_admin._keys_create(store, args) == 2
    assert "'x y'" in capsys.readouterr().err
    assert await store.api_keys.all() == []
