"""Calling the app's GraphQL endpoint directly, without a client library in the measurement."""

from __future__ import annotations

from typing import Any

import orjson

from devtools.asgi import call


async def graphql(app: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    status, raw = await call(
        app, "POST", "/graphql", orjson.dumps({"query": query, "variables": variables})
    )
    body: dict[str, Any] = orjson.loads(raw)
    if status != 200 or body.get("errors"):
        raise RuntimeError(f"{status}: {body.get('errors')}")
    return body
