"""The real server process: serves, then stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.live_server import ROOT, free_port


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_exits_zero_on_signal(stop):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGS_")}
    env["TAGS_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "server.py"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": "{ viewer { id } }"}, timeout=2
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.json()["data"] == {"viewer": {"id": "dev"}}
        process.send_signal(stop)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in output
    assert "in-memory" in output  # the start-up warning about the embedded store
