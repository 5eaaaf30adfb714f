"""GraphiQL in a real headless Chromium, with no request leaving 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.harness import live_server
from web.assets import installed

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
SCREENSHOT = os.environ.get("TAGS_GRAPHIQL_SCREENSHOT")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        not installed(), reason="the GraphiQL assets were not installed (npm absent)"
    ),
]


def test_graphiql_runs_a_query_offline():
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
