"""Starting a real server process (what `make run` runs) on a free loopback port,
and reading CPU time and memory of a process tree from /proc.

Shared by the benchmarks and the tests that need a live server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_embedded: Any = None


def _stop_embedded(scratch: str) -> None:
    global _embedded
    if _embedded is not None:
        _embedded.stop()
        _embedded = None
    shutil.rmtree(scratch, ignore_errors=True)


def store_uri() -> str:
    """TAGS_MONGODB_URI when set, else an embedded store in a temporary directory.

    The embedded store (a SecantusDB child process) is started once per bench run
    and removed with its directory when the run ends; the user's .data/ is never used.
    """
    global _embedded
    if os.environ.get("TAGS_MONGODB_URI"):
        return os.environ["TAGS_MONGODB_URI"]
    if _embedded is None:
        from storage.embedded import start_or_attach

        scratch = tempfile.mkdtemp(prefix="tags-bench-store-")
        _embedded = start_or_attach(Path(scratch))
        atexit.register(_stop_embedded, scratch)
    return str(_embedded.uri)


def store_pid() -> int | None:
    """The pid of the embedded store this process started, None on an external store."""
    if _embedded is None or _embedded.process is None:
        return None
    return int(_embedded.process.pid)


def store_label() -> str:
    if os.environ.get("TAGS_MONGODB_URI"):
        return "the MongoDB server of `TAGS_MONGODB_URI`"
    return "the embedded store (a SecantusDB server in a child process, temporary directory)"


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


# --- /proc readings (Linux) ---------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces or parentheses: fields start after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (clock-tick resolution)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += parents.get(current, [])
    return out


def is_store_process(pid: int) -> bool:
    try:
        return b"secantus" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass(frozen=True)
class TreeReading:
    """CPU seconds and RSS of a server's process tree, split service / embedded store."""

    service_cpu: float
    store_cpu: float
    service_rss: int
    store_rss: int
    processes: int

    @property
    def rss(self) -> int:
        return self.service_rss + self.store_rss


def read_tree(pid: int) -> TreeReading:
    service_cpu = store_cpu = 0.0
    service_rss = store_rss = 0
    pids = descendants(pid)
    for member in pids:
        try:
            cpu, rss = cpu_seconds(member), rss_bytes(member)
        except (OSError, ValueError):
            continue  # exited meanwhile
        if is_store_process(member):
            store_cpu, store_rss = store_cpu + cpu, store_rss + rss
        else:
            service_cpu, service_rss = service_cpu + cpu, service_rss + rss
    return TreeReading(service_cpu, store_cpu, service_rss, store_rss, len(pids))
