"""CPU time and memory of a server's process tree, read from /proc (Linux).

Starting the server and its store is `devtools/` (shared with the tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def store_label() -> str:
    if os.environ.get("TAGS_MONGODB_URI"):
        return "the MongoDB server of `TAGS_MONGODB_URI`"
    return "the embedded store (a SecantusDB server in a child process, temporary directory)"


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
