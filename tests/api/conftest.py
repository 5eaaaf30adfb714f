"""Fixtures for the end-to-end tests that drive a real service process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import live_server


@pytest.fixture(scope="module")
def dev_url() -> Iterator[str]:
    """A dev-mode service shared by the module: a start costs seconds."""
    with live_server() as url:
        yield url
