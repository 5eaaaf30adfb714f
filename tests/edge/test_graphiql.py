"""The GraphiQL page we serve: local, SRI-checked assets that can run subscriptions."""

from __future__ import annotations

import re

import pytest
from strawberry.http.ides import get_graphql_ide_html

from edge.graphiql import URL_PREFIX, graphiql_page, installed, pinned, sri

pytestmark = pytest.mark.skipif(
    not installed(), reason="the GraphiQL assets were not installed (npm absent)"
)


def test_the_page_loads_every_asset_locally_with_its_hash() -> None:
    page = graphiql_page(get_graphql_ide_html("graphiql"))
    sources = re.findall(r'(?:src|href)="(https?://[^"]+|/[^"]+)"', page)
    assert sources and all(s.startswith(URL_PREFIX) for s in sources), sources
    for asset in pinned():
        assert asset.local_url in page
        assert sri(asset.local_path.read_bytes()) == asset.integrity
        assert f'integrity="{asset.integrity}"' in page


def test_subscriptions_go_through_the_graphql_ws_client_in_graphiqls_bundle() -> None:
    page = graphiql_page(get_graphql_ide_html("graphiql"))
    # The page hands GraphiQL's fetcher the WebSocket URL of this endpoint...
    assert re.search(r"createFetcher\(\{[^}]*subscriptionUrl", page), "no subscriptionUrl"
    # ...and the fetcher opens it with the graphql-ws client bundled in graphiql.min.js.
    bundle = next(a for a in pinned() if a.file == "graphiql.min.js").local_path.read_text()
    assert '"../../../node_modules/graphql-ws/lib/client.mjs"' in bundle
    assert "GRAPHQL_TRANSPORT_WS_PROTOCOL = 'graphql-transport-ws'" in bundle
    assert "async function createWebsocketsFetcherFromUrl(" in bundle
