"""Starting a real server process (what `make run` runs) on a free loopback port.

Shared by the benchmarks and the tests that need a live server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


_embedded: Any = None


def store_uri() -> str:
    """TAGS_MONGODB_URI when set, else an embedded store in a temporary directory."""
    global _embedded
    if os.environ.get("TAGS_MONGODB_URI"):
        return os.environ["TAGS_MONGODB_URI"]
    if _embedded is None:
        import atexit
        import tempfile

        from storage.embedded import start_or_attach

        scratch = tempfile.mkdtemp(prefix="tags-bench-store-")
        _embedded = start_or_attach(Path(scratch))
        atexit.register(_embedded.stop)
    return str(_embedded.uri)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    output: Any = subprocess.DEVNULL, **env_overrides: str
) -> tuple[subprocess.Popen[str], str]:
    """Start `python server.py` and wait until it answers; returns (process, base URL).

    `output` receives stdout and stderr together (e.g. subprocess.PIPE to read them).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGS_")}
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
