"""Shared fixtures. The suite runs on a real server (see tests/harness.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from schema import TagsSchema, build_schema
from storage import Store
from tests.harness import ROOT, Executor, app_client, open_test_store, stop_store_server


@pytest.fixture(scope="session", autouse=True)
def store_server() -> Iterator[None]:
    """Stops the suite's database server (if this session started one) at the end."""
    yield
    stop_store_server()


@pytest.fixture(scope="session")
def schema() -> TagsSchema:
    return build_schema()


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    async with open_test_store() as active:
        yield active


@pytest.fixture
def gql(schema: TagsSchema, store: Store) -> Executor:
    return Executor(schema, store)


@pytest.fixture
async def client(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(store) as (_, http):
        yield http


@pytest.fixture(scope="session")
def node_clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/clients/ with its pinned npm packages installed, once for the session."""
    cache = Path(os.environ.get("TAGS_CLIENT_CACHE") or tmp_path_factory.mktemp("node-clients"))
    clients = ROOT / "tests" / "clients"
    for script in [clients / "package.json", *clients.glob("*.mjs")]:
        shutil.copy(script, cache / script.name)
    subprocess.run(
        ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--silent"],
        cwd=cache,
        check=True,
        timeout=300,
    )
    return cache
