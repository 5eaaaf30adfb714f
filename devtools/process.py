"""Starting a real server process (what `make run` runs) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    output: int | IO[Any] | None = subprocess.DEVNULL, **env_overrides: str
) -> tuple[subprocess.Popen[str], str]:
    """Start `python server.py` and wait until it answers; returns (process, base URL).

    `output` receives stdout and stderr together (e.g. subprocess.PIPE to read them).
    """
    port = free_port()
    # The suite's choice of embedded server reaches the service too (make test-python-server).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TAGS_") or k == "TAGS_EMBEDDED_SERVER"
    }
    env.update({"TAGS_PORT": str(port), **env_overrides})
    process = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.1)
