"""Shared fixtures.

The suite runs on the embedded store; with TAGS_MONGODB_URI set, the very
same tests run against that server, each in a database of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from resolvers.auth import DEV_PRINCIPAL, Principal
from resolvers.context import make_context
from schema import TagsSchema, build_schema
from server import create_app
from settings import Settings
from storage import Store, open_store

MONGODB_URI = os.environ.get("TAGS_MONGODB_URI") or None


@pytest.fixture(scope="session")
def schema() -> TagsSchema:
    return build_schema()


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    name = f"tags_test_{uuid.uuid4().hex[:12]}"
    active = open_store(MONGODB_URI, name)
    await active.ensure_indexes()
    try:
        yield active
    finally:
        if MONGODB_URI:
            await active.database.client.drop_database(name)
        active.close()


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
        return GraphQLResult(result.data, errors, result.extensions or {})  # type: ignore[arg-type]


@pytest.fixture
def gql(schema: TagsSchema, store: Store) -> Executor:
    return Executor(schema, store)


@pytest.fixture
async def client(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(), store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
