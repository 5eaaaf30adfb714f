"""The real server process: serves, then stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import subprocess

import httpx
import pytest

from tests.live_server import start_server


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_exits_zero_on_signal(stop):
    process, url = start_server(output=subprocess.PIPE)
    try:
        response = httpx.post(f"{url}/graphql", json={"query": "{ viewer { id } }"}, timeout=5)
        assert response.json()["data"] == {"viewer": {"id": "dev"}}
        process.send_signal(stop)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in output
    assert "in-memory" in output  # the start-up warning about the embedded store
