"""GraphiQL in a real headless Chromium, with no request leaving 127.0.0.1.

It runs a query, and a subscription whose events come from mutations sent
over HTTP while it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import jwt
import pytest

from edge.graphiql import installed
from tests.harness import live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags keep Chromium from phoning home on a machine with a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUERY = '{ tags(workspaceId: "browser") { nodes { name color } } }'
SUBSCRIPTION = 'subscription Live { tagEvents(workspaceId: "browser-live") { kind tag { name } } }'
CREATE = 'mutation($name: String!) { createTag(input: {workspaceId: "browser-live", name: $name}) { tag { id } } }'
SECRET = "graphiql-browser-test-secret-of-32-bytes-or-more"
# Guards against waiting forever on a busy machine, never measurements.
WAIT_MS = 30_000
SCREENSHOT = os.environ.get("TAGS_GRAPHIQL_SCREENSHOT")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        not installed(), reason="the GraphiQL assets were not installed (npm absent)"
    ),
]


def test_graphiql_runs_a_query_offline() -> None:
    from playwright.sync_api import sync_playwright

    with live_server() as url:
        origin = url.removesuffix("/graphql")
        created = httpx.post(
            url,
            json={
                "query": 'mutation { createTag(input: {workspaceId: "browser", name: "Shown in GraphiQL"}) { tag { id } } }'
            },
        )
        assert created.json()["data"]["createTag"]["tag"]["id"]
        requests: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.on("request", lambda request: requests.append(request.url))
                page.goto(f"{url}?q={quote(QUERY)}", wait_until="networkidle")
                page.locator(".graphiql-execute-button").click()
                result = page.locator(".graphiql-response")
                result.get_by_text("Shown in GraphiQL").wait_for(timeout=15_000)
                if SCREENSHOT:
                    page.screenshot(path=str(Path(SCREENSHOT)))
            finally:
                browser.close()
    outside = [r for r in requests if not (r.startswith(origin) or r.startswith("data:"))]
    assert not outside, f"requests left the machine: {outside}"
    assert any("/graphiql-assets/graphiql@" in r for r in requests), "GraphiQL did not load locally"


def test_graphiql_runs_a_subscription_offline() -> None:
    """GraphiQL 3.8's bundle carries graphql-ws; the page opens it on its subscriptionUrl.

    In `required` mode, so the token typed in GraphiQL's Headers tab must reach
    the socket (GraphiQL sends those headers as the connection_init payload).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    token = jwt.encode(
        {
            "sub": "graphiql-user",
            "exp": int(time.time()) + 600,
            "scope": "tags:write",
            "workspaces": ["browser-live"],
        },
        SECRET,
        algorithm="HS256",
    )
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    with live_server(TAGS_AUTH_MODE="required", TAGS_JWT_SECRET=SECRET) as url:
        origin = url.removesuffix("/graphql")
        requests: list[str] = []
        sockets: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.on("request", lambda request: requests.append(request.url))
                page.on("websocket", lambda socket: sockets.append(socket.url))
                page.goto(
                    f"{url}?q={quote(SUBSCRIPTION)}&headers={quote(headers)}",
                    wait_until="networkidle",
                )
                page.locator(".graphiql-execute-button").click()
                result = page.locator(".graphiql-response")

                # The subscription is live once an event shows; until then, tags are made.
                deadline = time.monotonic() + WAIT_MS / 1000
                while True:
                    probe = f"Probe {uuid.uuid4().hex[:8]}"
                    _create(url, probe, token)
                    try:
                        result.get_by_text(probe).wait_for(timeout=1000)
                        break
                    except PlaywrightTimeout:
                        assert time.monotonic() < deadline, "GraphiQL never showed an event"
                # The pane shows the latest event: the next commit replaces the probe.
                _create(url, "Seen live in GraphiQL", token)
                result.get_by_text("Seen live in GraphiQL").wait_for(timeout=WAIT_MS)
                assert "CREATED" in result.inner_text()
                if SCREENSHOT:
                    page.screenshot(path=str(Path(SCREENSHOT).with_suffix(".subscription.png")))
            finally:
                browser.close()
    ws_origin = "ws" + origin.removeprefix("http")
    assert sockets and all(s.startswith(ws_origin) for s in sockets), sockets
    outside = [r for r in requests if not (r.startswith(origin) or r.startswith("data:"))]
    assert not outside, f"requests left the machine: {outside}"


def _create(url: str, name: str, token: str) -> None:
    response = httpx.post(
        url,
        json={"query": CREATE, "variables": {"name": name}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.json()["data"]["createTag"]["tag"]["id"], response.text
