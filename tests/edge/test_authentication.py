"""Authentication and authorization over HTTP: JWTs, API keys, dev mode and the admin CLI."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cli import tags_admin
from edge.authentication import hash_key
from resolvers.clock import now
from storage import AuthorizedWorkspace, Store
from tests import harness
from tests.harness import bearer

SECRET = "hs256-test-secret-" + "0123456789abcdef" * 4
KEY_RE = re.compile(r"tk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")
VIEWER = "{ viewer { id scopes workspaceIds } }"
TAGS = "query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }"
CREATE = """mutation($ws: ID!, $name: String!) {
  createTag(input: {workspaceId: $ws, name: $name}) { tag { name } userErrors { code } }
}"""


# Keys ------------------------------------------------------------------------


def _public_pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def other_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


# Helpers ---------------------------------------------------------------------


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "user-42",
        "exp": int(time.time()) + 600,
        "scope": "tags:read",
        "workspaces": ["ws-a"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(
    header: dict[str, Any], payload: dict[str, Any], key: bytes | None, digest: Any = hashlib.sha256
) -> str:
    """A JWT built by hand, so PyJWT's own safety checks cannot stop us forging it."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = ""
    if key is not None:
        signature = _b64(hmac.new(key, signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature}"


def serve(store: Store, **settings: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """The app with authentication required by SECRET, unless `settings` say otherwise."""
    return harness.serve(store, **{"auth_mode": "required", "jwt_secret": SECRET, **settings})


async def post(
    http: httpx.AsyncClient,
    query: str = VIEWER,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate") == "Bearer"
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def viewer_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["viewer"]


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


@pytest.fixture
async def http(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(store) as client:
        yield client


# Bearer JWTs (HS256) -----------------------------------------------------------


async def test_valid_hs256_token_shows_the_viewer_as_granted(http: httpx.AsyncClient) -> None:
    token = hs256(claims(scope="tags:write", workspaces=["ws-a", "ws-b"]))
    viewer = viewer_of(await post(http, headers=bearer(token)))
    # Scopes as granted, not expanded to the implied ones.
    assert viewer == {"id": "user-42", "scopes": ["tags:write"], "workspaceIds": ["ws-a", "ws-b"]}


async def test_token_scopes_and_workspaces_authorize(http: httpx.AsyncClient) -> None:
    token = hs256(claims(scope="tags:write", workspaces=["ws-a"]))
    created = await post(http, CREATE, {"ws": "ws-a", "name": "Alpha"}, bearer(token))
    assert created.json()["data"]["createTag"] == {"tag": {"name": "Alpha"}, "userErrors": []}
    listed = await post(http, TAGS, {"ws": "ws-a"}, bearer(token))
    assert listed.json()["data"]["tags"]["totalCount"] == 1

    other = await post(http, TAGS, {"ws": "ws-b"}, bearer(token))
    assert other.status_code == 200
    assert codes(other) == ["FORBIDDEN"]

    everywhere = hs256(claims(scope="tags:read", workspaces=["*"]))
    anywhere = await post(http, TAGS, {"ws": "ws-zzz"}, bearer(everywhere))
    assert anywhere.json()["data"]["tags"]["totalCount"] == 0


async def test_expiry_has_sixty_seconds_of_leeway(http: httpx.AsyncClient) -> None:
    recent = hs256(claims(exp=int(time.time()) - 30))
    assert viewer_of(await post(http, headers=bearer(recent)))["id"] == "user-42"

    stale = hs256(claims(exp=int(time.time()) - 120))
    assert_unauthenticated(await post(http, headers=bearer(stale)))


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(claims(exp=None), id="missing-exp"),
        pytest.param(claims(sub=None), id="missing-sub"),
        pytest.param(claims(sub=""), id="empty-sub"),
        pytest.param(claims(sub=123), id="numeric-sub"),
        pytest.param(claims(scope=["tags:read"]), id="scope-not-a-string"),
        pytest.param(claims(workspaces="ws-a"), id="workspaces-not-a-list"),
    ],
)
async def test_tokens_with_bad_claims_are_refused(
    http: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    assert_unauthenticated(await post(http, headers=bearer(token)))


async def test_wrong_secret_is_refused(http: httpx.AsyncClient) -> None:
    token = hs256(claims(), secret="another-" + "9876543210fedcba" * 4)
    assert_unauthenticated(await post(http, headers=bearer(token)))


async def test_tampered_payload_is_refused(http: httpx.AsyncClient) -> None:
    token = hs256(claims(scope="tags:read"))
    header, _, signature = token.split(".")
    forged = _b64(json.dumps(claims(scope="tags:admin", workspaces=["*"])).encode())
    assert_unauthenticated(await post(http, headers=bearer(f"{header}.{forged}.{signature}")))
    # The untouched token is fine, so the refusal above is about the tampering.
    assert viewer_of(await post(http, headers=bearer(token)))["scopes"] == ["tags:read"]


async def test_alg_none_is_refused(http: httpx.AsyncClient) -> None:
    unsigned = handmade({"alg": "none", "typ": "JWT"}, claims(scope="tags:admin"), None)
    assert_unauthenticated(await post(http, headers=bearer(unsigned)))
    unsigned_upper = handmade({"alg": "None", "typ": "JWT"}, claims(scope="tags:admin"), None)
    assert_unauthenticated(await post(http, headers=bearer(unsigned_upper)))


async def test_other_hmac_algorithms_are_refused(http: httpx.AsyncClient) -> None:
    # Signed with the right secret, but only HS256 is accepted for the secret.
    token = handmade({"alg": "HS512", "typ": "JWT"}, claims(), SECRET.encode(), hashlib.sha512)
    assert_unauthenticated(await post(http, headers=bearer(token)))


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", "", "eyJhbGciOiJIUzI1NiJ9..", "tk_"],
    ids=["garbage", "three-junk-parts", "empty", "empty-parts", "bare-prefix"],
)
async def test_malformed_bearer_values_are_refused(http: httpx.AsyncClient, token: str) -> None:
    assert_unauthenticated(await post(http, headers={"authorization": f"Bearer {token}"}))


# Public-key JWTs -----------------------------------------------------------------


async def test_rs256_with_the_right_key(
    store: Store, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    async with serve(store, jwt_public_key=_public_pem(rsa_key)) as http:
        good = jwt.encode(claims(sub="rsa-user"), rsa_key, algorithm="RS256")
        assert viewer_of(await post(http, headers=bearer(good)))["id"] == "rsa-user"

        foreign = jwt.encode(claims(sub="rsa-user"), other_rsa_key, algorithm="RS256")
        assert_unauthenticated(await post(http, headers=bearer(foreign)))
        # HS256 with the configured secret still works next to the public key.
        assert viewer_of(await post(http, headers=bearer(hs256(claims()))))["id"] == "user-42"


async def test_es256_with_the_right_key(
    store: Store,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    async with serve(store, jwt_public_key=_public_pem(ec_key)) as http:
        good = jwt.encode(claims(sub="ec-user"), ec_key, algorithm="ES256")
        assert viewer_of(await post(http, headers=bearer(good)))["id"] == "ec-user"

        foreign = jwt.encode(claims(sub="ec-user"), other_ec_key, algorithm="ES256")
        assert_unauthenticated(await post(http, headers=bearer(foreign)))
        # An RS256 token is not accepted by a server holding an EC key.
        rs = jwt.encode(claims(sub="ec-user"), rsa_key, algorithm="RS256")
        assert_unauthenticated(await post(http, headers=bearer(rs)))


async def test_public_key_tokens_need_a_configured_key(
    store: Store, rsa_key: rsa.RSAPrivateKey
) -> None:
    async with serve(store) as http:
        token = jwt.encode(claims(), rsa_key, algorithm="RS256")
        assert_unauthenticated(await post(http, headers=bearer(token)))


@pytest.mark.parametrize("secret", [SECRET, None], ids=["with-secret", "without-secret"])
async def test_algorithm_confusion_is_refused(
    store: Store, rsa_key: rsa.RSAPrivateKey, secret: str | None
) -> None:
    pem = _public_pem(rsa_key)
    async with serve(store, jwt_secret=secret, jwt_public_key=pem) as http:
        for key_bytes in (pem.encode(), pem.strip().encode()):
            forged = handmade({"alg": "HS256", "typ": "JWT"}, claims(scope="tags:admin"), key_bytes)
            assert_unauthenticated(await post(http, headers=bearer(forged)))
        # The genuine RS256 token works on the same server.
        genuine = jwt.encode(claims(), rsa_key, algorithm="RS256")
        assert viewer_of(await post(http, headers=bearer(genuine)))["id"] == "user-42"
        if secret:
            # The hand-made signing is sound: with the real secret it is accepted.
            honest = handmade({"alg": "HS256", "typ": "JWT"}, claims(), secret.encode())
            assert viewer_of(await post(http, headers=bearer(honest)))["id"] == "user-42"


async def test_audience_and_issuer_are_checked_when_configured(store: Store) -> None:
    aud, iss = "tags-api", "https://issuer.example"
    async with serve(store, jwt_audience=aud, jwt_issuer=iss) as http:
        right = hs256(claims(aud=aud, iss=iss))
        assert viewer_of(await post(http, headers=bearer(right)))["id"] == "user-42"
        in_list = hs256(claims(aud=["other", aud], iss=iss))
        assert viewer_of(await post(http, headers=bearer(in_list)))["id"] == "user-42"

        for payload in (
            claims(aud="someone-else", iss=iss),
            claims(aud=aud, iss="https://evil.example"),
            claims(iss=iss),  # no aud at all
            claims(aud=aud),  # no iss at all
        ):
            assert_unauthenticated(await post(http, headers=bearer(hs256(payload))))


async def test_audience_and_issuer_are_ignored_when_not_configured(http: httpx.AsyncClient) -> None:
    token = hs256(claims(aud="whatever", iss="whoever"))
    assert viewer_of(await post(http, headers=bearer(token)))["id"] == "user-42"


# No or odd credentials ------------------------------------------------------------


async def test_required_mode_needs_credentials(http: httpx.AsyncClient, store: Store) -> None:
    assert_unauthenticated(await post(http))
    assert_unauthenticated(await post(http, CREATE, {"ws": "ws-a", "name": "Sneaky"}))
    # Nothing executed: the mutation above created nothing.
    assert await store.tags.count_workspace(_ws("ws-a")) == 0


@pytest.mark.parametrize(
    "value",
    ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "Bearer    ", "bearer"],
    ids=["basic", "token", "bare-bearer", "blank-bearer", "lowercase-bare"],
)
async def test_non_bearer_authorization_is_refused(http: httpx.AsyncClient, value: str) -> None:
    assert_unauthenticated(await post(http, headers={"authorization": value}))


async def test_401_over_get_and_with_graphql_response_media_type(http: httpx.AsyncClient) -> None:
    got = await http.get("/graphql", params={"query": VIEWER})
    assert_unauthenticated(got)
    accepted = await post(http, headers={"accept": "application/graphql-response+json"})
    assert_unauthenticated(accepted)


async def test_dev_mode_without_credentials_is_the_dev_principal(store: Store) -> None:
    async with serve(store, auth_mode="dev", jwt_secret=None) as http:
        viewer = viewer_of(await post(http))
    assert viewer == {
        "id": "dev",
        "scopes": ["tags:read", "taggings:write", "tags:write", "tags:admin"],
        "workspaceIds": ["*"],
    }


async def test_dev_mode_still_checks_credentials_when_sent(store: Store) -> None:
    async with serve(store, auth_mode="dev") as http:
        assert_unauthenticated(await post(http, headers=bearer("garbage")))
        assert_unauthenticated(await post(http, headers=bearer(hs256(claims(), secret="x" * 64))))
        assert_unauthenticated(await post(http, headers={"authorization": "Basic abc"}))
        assert_unauthenticated(await post(http, headers={"x-api-key": "tk_nope"}))
        # Good credentials in dev mode are the real principal, not the dev one.
        assert viewer_of(await post(http, headers=bearer(hs256(claims()))))["id"] == "user-42"


# API keys ------------------------------------------------------------------------


def _ws(workspace_id: str) -> AuthorizedWorkspace:
    return AuthorizedWorkspace(workspace_id)


def key_id_of(key: str) -> str:
    return key.split("_")[1]


async def test_api_key_via_bearer_and_x_api_key(http: httpx.AsyncClient, store: Store) -> None:
    key = await tags_admin.create_key(store, "ci", ["tags:write"], ["ws-a"])
    assert KEY_RE.fullmatch(key)
    expected = {"id": key_id_of(key), "scopes": ["tags:write"], "workspaceIds": ["ws-a"]}
    assert viewer_of(await post(http, headers=bearer(key))) == expected
    assert viewer_of(await post(http, headers={"x-api-key": key})) == expected


async def test_revoked_key_is_refused(http: httpx.AsyncClient, store: Store) -> None:
    key = await tags_admin.create_key(store, "ci", ["tags:read"], ["ws-a"])
    assert viewer_of(await post(http, headers={"x-api-key": key}))["id"] == key_id_of(key)
    assert await store.api_keys.revoke(key_id_of(key), now())
    assert_unauthenticated(await post(http, headers={"x-api-key": key}))
    assert_unauthenticated(await post(http, headers=bearer(key)))


async def test_malformed_and_unknown_keys_are_refused(
    http: httpx.AsyncClient, store: Store
) -> None:
    key = await tags_admin.create_key(store, "ci", ["tags:read"], ["ws-a"])
    key_id, secret_part = key_id_of(key), key.split("_", 2)[2]
    flipped = ("A" if secret_part[0] != "A" else "B") + secret_part[1:]
    candidates = [
        "tk_",
        "tk_short",
        key + "x",  # too long
        key[:-1],  # too short
        f"tk_{key_id.upper()}_{secret_part}",  # id must be lowercase hex
        f"tk_{key_id}_{flipped}",  # right id, wrong secret
        f"tk_{'0' * 16}_{secret_part}",  # unknown id
        f"tk_{key_id}_{'!' * 43}",  # bad alphabet
    ]
    for candidate in candidates:
        assert_unauthenticated(await post(http, headers={"x-api-key": candidate}))
        assert_unauthenticated(await post(http, headers=bearer(candidate)))
    # The genuine key still works.
    assert viewer_of(await post(http, headers={"x-api-key": key}))["id"] == key_id


async def test_key_is_limited_to_its_workspaces(http: httpx.AsyncClient, store: Store) -> None:
    key = await tags_admin.create_key(store, "ci", ["tags:write"], ["ws-a"])
    headers = {"x-api-key": key}

    own = await post(http, TAGS, {"ws": "ws-a"}, headers)
    assert own.status_code == 200
    assert own.json()["data"]["tags"]["totalCount"] == 0

    other = await post(http, TAGS, {"ws": "ws-b"}, headers)
    assert other.status_code == 200
    assert codes(other) == ["FORBIDDEN"]

    write_other = await post(http, CREATE, {"ws": "ws-b", "name": "Nope"}, headers)
    assert write_other.status_code == 200
    assert codes(write_other) == ["FORBIDDEN"]
    assert await store.tags.count_workspace(_ws("ws-b")) == 0

    write_own = await post(http, CREATE, {"ws": "ws-a", "name": "Yes"}, headers)
    assert write_own.json()["data"]["createTag"]["userErrors"] == []


async def test_key_scope_too_low_is_forbidden(http: httpx.AsyncClient, store: Store) -> None:
    key = await tags_admin.create_key(store, "reader", ["tags:read"], ["ws-a"])
    response = await post(http, CREATE, {"ws": "ws-a", "name": "Nope"}, {"x-api-key": key})
    assert response.status_code == 200
    assert codes(response) == ["FORBIDDEN"]
    assert await store.tags.count_workspace(_ws("ws-a")) == 0
    # Reading is within the scope.
    read = await post(http, TAGS, {"ws": "ws-a"}, {"x-api-key": key})
    assert "errors" not in read.json()


async def test_only_the_hash_of_a_key_is_stored(store: Store) -> None:
    key = await tags_admin.create_key(store, "ci", ["tags:read"], ["ws-a"])
    doc = await store.api_keys.get(key_id_of(key))
    assert doc is not None
    assert doc["hash"] == hashlib.sha256(key.encode()).hexdigest() == hash_key(key)
    secret_part = key.split("_", 2)[2]
    for value in doc.values():
        assert key not in str(value)
        assert secret_part not in str(value)


# The admin CLI ----------------------------------------------------------------------


def _create_args(scopes: str = "tags:read,tags:write", workspaces: str = "ws-a,ws-b") -> Any:
    return argparse.Namespace(name="ci-bot", scopes=scopes, workspaces=workspaces)


async def test_cli_create_prints_only_the_key(
    store: Store, capsys: pytest.CaptureFixture[str], http: httpx.AsyncClient
) -> None:
    assert await tags_admin._keys_create(store, _create_args()) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, out
    key = lines[0]
    assert KEY_RE.fullmatch(key), key
    doc = await store.api_keys.get(key_id_of(key))
    assert doc is not None
    assert doc["name"] == "ci-bot"
    assert doc["scopes"] == ["tags:read", "tags:write"]
    assert doc["workspaces"] == ["ws-a", "ws-b"]
    viewer = viewer_of(await post(http, headers={"x-api-key": key}))
    assert viewer == {
        "id": key_id_of(key),
        "scopes": ["tags:read", "tags:write"],
        "workspaceIds": ["ws-a", "ws-b"],
    }


async def test_cli_list_and_revoke(
    store: Store, capsys: pytest.CaptureFixture[str], http: httpx.AsyncClient
) -> None:
    assert await tags_admin._keys_create(store, _create_args()) == 0
    key = capsys.readouterr().out.strip()
    key_id = key_id_of(key)
    key_hash = hash_key(key)

    assert await tags_admin._keys_list(store, argparse.Namespace()) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "active" in listed and "ci-bot" in listed
    assert key not in listed and key_hash not in listed
    assert key.split("_", 2)[2] not in listed

    assert await tags_admin._keys_revoke(store, argparse.Namespace(id=key_id)) == 0
    capsys.readouterr()
    assert await tags_admin._keys_list(store, argparse.Namespace()) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if key_id in x)
    assert "revoked" in line and "active" not in line
    assert_unauthenticated(await post(http, headers={"x-api-key": key}))

    assert await tags_admin._keys_revoke(store, argparse.Namespace(id=key_id)) == 1
    assert await tags_admin._keys_revoke(store, argparse.Namespace(id="0" * 16)) == 1


@pytest.mark.parametrize(
    ("scopes", "workspaces"),
    [("tags:read,tags:superuser", "ws-a"), ("", "ws-a"), ("tags:read", " , ")],
    ids=["unknown-scope", "no-scope", "no-workspace"],
)
async def test_cli_create_refuses_bad_arguments(
    store: Store, capsys: pytest.CaptureFixture[str], scopes: str, workspaces: str
) -> None:
    assert await tags_admin._keys_create(store, _create_args(scopes, workspaces)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip()
    assert await store.api_keys.all() == []


def test_cli_export_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "s.graphql"
    assert tags_admin.main(["export-schema", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert "type Tag" in text
    assert "type Viewer" in text
    assert "enum ErrorCode" in text
