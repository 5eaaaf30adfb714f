"""A live server for the tests that need one (see bench/process.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from bench.process import ROOT, free_port, start_server

__all__ = ["ROOT", "free_port", "live_server", "start_server"]


@contextmanager
def live_server(**env_overrides: str) -> Iterator[str]:
    """Yields the GraphQL URL of a freshly started server; stops it afterwards."""
    process, url = start_server(**env_overrides)
    try:
        yield f"{url}/graphql"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
