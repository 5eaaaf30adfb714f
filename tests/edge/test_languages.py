"""Accept-Language through the ASGI app: every message in the chosen language,
codes and fields unchanged, Content-Language on every response."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from config.settings import Settings
from storage import Store
from tests.harness import app_client, hs256_token

SECRET = "languages-test-secret-of-at-least-32-bytes"
WS = "ws-lang"
CREATE = """mutation($name: String!, $color: String) {
  createTag(input: {workspaceId: "ws-lang", name: $name, color: $color}) {
    tag { id } userErrors { code field message }
  }
}"""
TAGS = 'query($first: Int) { tags(workspaceId: "ws-lang", first: $first) { totalCount } }'

# (language, an Accept-Language that should choose it)
HEADERS = [
    ("en", None),
    ("en", "pt-BR, xx;q=0.5"),
    ("de", "de-CH, en;q=0.5"),
    ("fr", "es;q=0.2, fr;q=0.9"),
    ("es", "es-419"),
    ("ja", "ja-JP;q=0.8, en;q=0.1"),
]

USER_ERROR = {
    "en": "Color must be 6 hex digits, such as #1a2b3c.",
    "de": "Die Farbe muss aus 6 Hexadezimalziffern bestehen, etwa #1a2b3c.",
    "fr": "La couleur doit comporter 6 chiffres hexadécimaux, par exemple #1a2b3c.",
    "es": "El color debe tener 6 dígitos hexadecimales, por ejemplo #1a2b3c.",
    "ja": "色は #1a2b3c のような 16 進数 6 桁で指定してください。",
}
BAD_USER_INPUT = {
    "en": "first must be between 0 and 100.",
    "de": "first muss zwischen 0 und 100 liegen.",
    "fr": "first doit être compris entre 0 et 100.",
    "es": "first debe estar entre 0 y 100.",
    "ja": "first は 0～100 の範囲で指定してください。",  # noqa: RUF001
}
FORBIDDEN = {
    "en": "This operation needs the tags:write scope.",
    "de": "Diese Operation benötigt den Scope tags:write.",
    "fr": "Cette opération nécessite la portée tags:write.",
    "es": "Esta operación requiere el ámbito tags:write.",
    "ja": "この操作には tags:write スコープが必要です。",
}
UNAUTHENTICATED = {
    "en": "Credentials are required.",
    "de": "Anmeldedaten sind erforderlich.",
    "fr": "Des identifiants sont requis.",
    "es": "Se requieren credenciales.",
    "ja": "認証情報が必要です。",
}
TOO_LARGE = {
    "en": "The request body is larger than 1 MiB.",
    "de": "Der Anfragetext ist größer als 1 MiB.",
    "fr": "Le corps de la requête dépasse 1 Mio.",
    "es": "El cuerpo de la solicitud supera 1 MiB.",
    "ja": "リクエスト本文が 1 MiB を超えています。",
}


def accept(header: str | None) -> dict[str, str]:
    return {"accept-language": header} if header is not None else {}


@contextlib.asynccontextmanager
async def serve(store: Store, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(store, Settings(**settings), "http://testserver") as (_, http):
        yield http


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )


def assert_language(response: httpx.Response, language: str) -> None:
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()


@pytest.mark.parametrize(("language", "header"), HEADERS)
async def test_user_errors_answer_in_the_chosen_language(
    client: httpx.AsyncClient, language: str, header: str | None
) -> None:
    response = await post(client, CREATE, {"name": "Bug", "color": "red"}, accept(header))
    assert response.status_code == 200
    assert_language(response, language)
    payload = response.json()["data"]["createTag"]
    assert payload == {
        "tag": None,
        "userErrors": [{"code": "VALIDATION", "field": ["color"], "message": USER_ERROR[language]}],
    }


@pytest.mark.parametrize(("language", "header"), HEADERS)
async def test_top_level_errors_answer_in_the_chosen_language(
    client: httpx.AsyncClient, language: str, header: str | None
) -> None:
    response = await post(client, TAGS, {"first": 500}, accept(header))
    assert response.status_code == 200
    assert_language(response, language)
    [error] = response.json()["errors"]
    assert error["message"] == BAD_USER_INPUT[language]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["path"] == ["tags"]


async def test_only_messages_differ_between_languages(client: httpx.AsyncClient) -> None:
    documents: list[tuple[str, dict[str, Any]]] = [
        (CREATE, {"name": "Bug", "color": "red"}),
        (CREATE, {"name": "   "}),
        (TAGS, {"first": -1}),
        ('{ tags(workspaceId: "ws-lang") { nodes { nam } } }', {}),
        ('{ tagBySlug(workspaceId: " bad", slug: "x") { id } }', {}),
    ]
    for query, variables in documents:
        bodies = {}
        for language in ("en", "de", "fr", "es", "ja"):
            response = await post(client, query, variables, accept(language))
            bodies[language] = response.json()
        messages = {language: _messages(body) for language, body in bodies.items()}
        assert len({tuple(m) for m in messages.values()}) == 5, messages
        stripped = [_without_messages(body) for body in bodies.values()]
        assert all(body == stripped[0] for body in stripped), stripped


def _messages(body: Any) -> list[str]:
    if isinstance(body, dict):
        own = [body["message"]] if isinstance(body.get("message"), str) else []
        return own + [m for k, v in sorted(body.items()) if k != "message" for m in _messages(v)]
    if isinstance(body, list):
        return [m for item in body for m in _messages(item)]
    return []


def _without_messages(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _without_messages(v) for k, v in body.items() if k != "message"}
    if isinstance(body, list):
        return [_without_messages(item) for item in body]
    return body


@pytest.mark.parametrize(("language", "header"), HEADERS)
async def test_http_errors_401_403_413_in_the_chosen_language(
    store: Store, language: str, header: str | None
) -> None:
    async with serve(store, auth_mode="required", jwt_secret=SECRET) as http:
        refused = await post(http, TAGS, {}, accept(header))
        assert refused.status_code == 401
        assert_language(refused, language)
        assert refused.json() == {
            "errors": [
                {"message": UNAUTHENTICATED[language], "extensions": {"code": "UNAUTHENTICATED"}}
            ]
        }

        reader = hs256_token(SECRET, "reader", "tags:read", [WS])
        forbidden = await post(
            http,
            CREATE,
            {"name": "Bug"},
            {**accept(header), "authorization": f"Bearer {reader}"},
        )
        assert forbidden.status_code == 200
        assert_language(forbidden, language)
        [error] = forbidden.json()["errors"]
        assert error["message"] == FORBIDDEN[language]
        assert error["extensions"]["code"] == "FORBIDDEN"

        large = await http.post(
            "/graphql",
            content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
            headers={**accept(header), "content-type": "application/json"},
        )
        assert large.status_code == 413
        assert_language(large, language)
        assert large.json()["errors"][0]["message"] == TOO_LARGE[language]


async def test_content_language_on_every_response(client: httpx.AsyncClient) -> None:
    german = accept("de")
    responses = [
        await post(client, TAGS, {}, german),  # 200
        await client.post(  # 400: parse error, graphql-response+json
            "/graphql",
            json={"query": "{"},
            headers={**german, "accept": "application/graphql-response+json"},
        ),
        await client.post(
            "/graphql", content=b"nope", headers={**german, "content-type": "text/plain"}
        ),
        await client.get("/graphql", params={"query": "mutation { x }"}, headers=german),
        await client.get("/healthz", headers=german),
        await client.get("/metrics", headers=german),
        await client.get("/nowhere", headers=german),
    ]
    assert [r.status_code for r in responses] == [200, 400, 415, 405, 200, 200, 404]
    for response in responses:
        assert_language(response, "de")
    assert (
        responses[1].json()["errors"][0]["message"] == "Syntaxfehler: Expected Name, found <EOF>."
    )
    assert responses[2].json()["errors"][0]["message"] == (
        "Senden Sie die Anfrage als application/json."
    )
    assert responses[3].json()["errors"][0]["message"] == (
        "Mit GET können nur Abfragen gesendet werden; verwenden Sie POST."
    )


async def test_graphiql_page_says_it_is_english(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html", "accept-language": "ja"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "en"


async def test_vary_is_extended_not_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "{ viewer { id } }"},
        headers={"accept-language": "fr", "accept-encoding": "gzip"},
    )
    vary = [v.strip().lower() for v in response.headers.get_list("vary", split_commas=True)]
    assert vary.count("accept-language") == 1
