"""The database server the suite runs on, and live service processes on it.

Every test runs on a real MongoDB-wire server: the one `TAGS_MONGODB_URI`
names, or else one SecantusDB server this test session starts (the same
embedded store `make run` uses, in a temporary directory; `devtools.store`).
Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from starlette.applications import Starlette

from config.settings import Settings
from devtools.process import ROOT, free_port, start_server
from devtools.store import stop_store_server, store_uri
from resolvers.authorization import DEV_PRINCIPAL, Principal
from resolvers.context import make_context
from schema import TagsSchema
from server import create_app
from storage import Store, open_store

__all__ = [
    "NODE_ABSENT",
    "ROOT",
    "Executor",
    "GraphQLResult",
    "alive",
    "app_client",
    "bearer",
    "drop_database",
    "free_port",
    "fresh_db_name",
    "hs256_token",
    "live_server",
    "open_test_store",
    "serve",
    "service_env",
    "start_server",
    "stop_store_server",
    "store_uri",
]


def fresh_db_name(prefix: str = "tags_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def drop_database(name: str) -> None:
    client: MongoClient[Any] = MongoClient(store_uri(), serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    finally:
        client.close()


def stored(name: str, collection: str) -> list[dict[str, Any]]:
    """Every document of one collection of the database `name`, read directly."""
    client: MongoClient[Any] = MongoClient(store_uri(), serverSelectionTimeoutMS=5000)
    try:
        return list(client[name][collection].find({}))
    finally:
        client.close()


@asynccontextmanager
async def open_test_store(prefix: str = "tags_test") -> AsyncIterator[Store]:
    """A store on a fresh database of the suite's server, with indexes; dropped afterwards."""
    name = fresh_db_name(prefix)
    store = open_store(store_uri(), name)
    await store.ensure_indexes()
    try:
        yield store
    finally:
        await store.database.client.drop_database(name)
        store.close()


class GraphQLResult:
    """What a schema-level execution returned, with helpers for the usual assertions."""

    def __init__(self, data: Any, errors: list[dict[str, Any]], extensions: dict[str, Any]) -> None:
        self.data = data
        self.errors = errors
        self.extensions = extensions

    @property
    def round_trips(self) -> int:
        return int(self.extensions["cost"]["dbRoundTrips"])

    @property
    def error_codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class Executor:
    """Runs operations through the real schema with a real per-request context."""

    def __init__(self, schema: TagsSchema, store: Store) -> None:
        self.schema = schema
        self.store = store

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        principal: Principal = DEV_PRINCIPAL,
    ) -> GraphQLResult:
        context = make_context(None, principal, self.store, "test-request")
        result = await self.schema.execute(query, variable_values=variables, context_value=context)
        errors = [e.formatted for e in result.errors or []]
        return GraphQLResult(result.data, errors, result.extensions or {})


# The Node clients of tests/clients/ (urql, graphql-ws, graphql-sse) need both.
NODE_ABSENT = shutil.which("node") is None or shutil.which("npm") is None


def hs256_token(secret: str, sub: str, scope: str, workspaces: list[str]) -> str:
    """A bearer JWT the service accepts when TAGS_JWT_SECRET is `secret`, valid ten minutes."""
    import jwt

    claims = {"sub": sub, "exp": int(time.time()) + 600, "scope": scope, "workspaces": workspaces}
    return jwt.encode(claims, secret, algorithm="HS256")


def alive(pid: int) -> bool:
    """Whether process `pid` is still running (Linux: reads /proc)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def bearer(token: str) -> dict[str, str]:
    """The request headers that present `token`."""
    return {"authorization": f"Bearer {token}"}


def service_env(**overrides: str) -> dict[str, str]:
    """Environment for a service process on the suite's server, in a fresh database, dev mode."""
    env = {
        "TAGS_MONGODB_URI": store_uri(),
        "TAGS_MONGODB_DB": fresh_db_name("tags_live"),
        "TAGS_AUTH_MODE": "dev",
    }
    env.update(overrides)
    return env


@contextmanager
def live_server(**env_overrides: str) -> Iterator[str]:
    """Yields the GraphQL URL of a freshly started `python server.py`; stops it afterwards."""
    env = service_env(**env_overrides)
    process, url = start_server(subprocess.DEVNULL, **env)
    try:
        yield f"{url}/graphql"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if "TAGS_MONGODB_URI" in env:
            drop_database(env["TAGS_MONGODB_DB"])


@asynccontextmanager
async def app_client(
    store: Store, settings: Settings | None = None, base_url: str = "http://localhost"
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app on `store` in this process, its lifespan running, and an HTTP client to it.

    The default base URL is a loopback host, as a real client of a dev-mode
    service sends it.
    """
    app = create_app(settings or Settings(), store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield app, http


@asynccontextmanager
async def serve(store: Store, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the app on `store` with these settings (see app_client)."""
    async with app_client(store, Settings(**settings)) as (_, http):
        yield http
