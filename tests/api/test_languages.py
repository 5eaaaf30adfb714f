"""Languages end to end: a real server answers HTTP, SSE and WebSocket clients in the
language of their request (for a socket or stream, of the request that opened it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.graphql_ws import PROTOCOL, WAIT, ws_url
from tests.harness import live_server

CREATE = """mutation($name: String!) {
  createTag(input: {workspaceId: "langs", name: $name, color: "red"}) {
    tag { id } userErrors { code field message }
  }
}"""
BAD_WORKSPACE = 'subscription { tagEvents(workspaceId: " langs") { kind } }'
WORKSPACE_RULE = {
    "en": "workspaceId ' langs' is not a workspace id: 1-128 characters of ASCII letters, "
    "digits, '_', '-', '.' and ':'.",
    "fr": "workspaceId ' langs' n'est pas un identifiant d'espace de travail : de 1 à 128 "
    "caractères parmi les lettres ASCII, les chiffres, '_', '-', '.' et ':'.",
    "ja": "workspaceId ' langs' はワークスペース ID ではありません: ASCII 英字、数字、'_'、'-'、"
    "'.'、':' からなる 1～128 文字にしてください。",  # noqa: RUF001
}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with live_server() as graphql_url:
        yield graphql_url


async def test_http_answers_in_each_language(url: str) -> None:
    seen: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(timeout=WAIT) as http:
        for header, language in [
            ("en-GB", "en"),
            ("de-AT, en;q=0.3", "de"),
            ("fr", "fr"),
            ("es-MX", "es"),
            ("ja;q=0.9, xx", "ja"),
        ]:
            response = await http.post(
                url,
                json={"query": CREATE, "variables": {"name": "Bug"}},
                headers={"accept-language": header},
            )
            assert response.status_code == 200
            assert response.headers["content-language"] == language
            [error] = response.json()["data"]["createTag"]["userErrors"]
            seen[language] = error
    assert len({e["message"] for e in seen.values()}) == 5
    assert {(e["code"], tuple(e["field"])) for e in seen.values()} == {("VALIDATION", ("color",))}
    assert (
        seen["de"]["message"] == "Die Farbe muss aus 6 Hexadezimalziffern bestehen, etwa #1a2b3c."
    )


async def test_sse_answers_in_the_language_of_its_request(url: str) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        response = await http.post(
            url,
            json={"query": BAD_WORKSPACE},
            headers={"accept": "text/event-stream", "accept-language": "fr-CA, en;q=0.5"},
        )
    assert response.status_code == 200
    assert response.headers["content-language"] == "fr"
    events = [block for block in response.text.split("\n\n") if block.startswith("event: next")]
    [event] = events
    body = json.loads(event.split("data: ", 1)[1])
    [error] = body["errors"]
    assert error["message"] == WORKSPACE_RULE["fr"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_websocket_answers_in_the_language_of_its_upgrade(url: str, language: str) -> None:
    async with connect(
        ws_url(url),
        subprotocols=[PROTOCOL],
        additional_headers={"accept-language": language},
        open_timeout=WAIT,
    ) as socket:
        assert socket.response is not None
        assert socket.response.headers["content-language"] == language
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": BAD_WORKSPACE}})
        )
        message = json.loads(await socket.recv())
    assert message["id"] == "1"
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    [error] = errors
    assert error["message"] == WORKSPACE_RULE[language]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
