"""The embedded store: a SecantusDB server (MongoDB wire protocol, WiredTiger) run as a child.

SecantusDB has two servers that keep the same files, chosen by
`TAGS_EMBEDDED_SERVER`: `rust` (`secantusd-rs`, the crate `secantus-mdb`, which
the set-up of `make run`/`make test` builds into the venv; a real query planner,
within a few times mongod's speed) and `python` (`secantusd-py`, the PyPI
package; readable, slow, sorts in memory). A directory written by one opens with
the other, so switching needs no migration.

SecantusDB is GPL-2.0; the service only ever talks to it over a socket and never
imports it, so the service's own code stays independent of that licence.

One server owns a data directory (WiredTiger locks it). The directory holds:

- `db/`        the WiredTiger files;
- `server.lock` an advisory lock held by the process that started the server
  (the owner); the kernel drops it when the owner dies, however it dies;
- `server.json` the run file: the server's pid and port, written by the owner;
- `server.log`  the server's own output.

Whoever takes the lock starts the server (or recovers a directory left by a
crashed owner); anyone else (uvicorn workers, `tags-admin` beside a running
service) reads the run file and connects to the same server.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("tags.store")

RUN_FILE = "server.json"
LOCK_FILE = "server.lock"
LOG_FILE = "server.log"
DB_DIR = "db"

# Who started a server: the service, or a console command that stops it when done.
SERVICE = "service"
CONSOLE = "console"

# The two servers of SecantusDB (TAGS_EMBEDDED_SERVER).
RUST = "rust"
PYTHON = "python"
SERVERS = (RUST, PYTHON)

# Where the set-up (Makefile) builds secantusd-rs: inside the environment that
# runs the service, so a fresh clone needs nothing installed by hand.
RUST_ROOT = Path(sys.prefix) / "secantusd-rs"
RUST_BINARY = RUST_ROOT / "bin" / "secantusd-rs"

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 8.0
_PR_SET_PDEATHSIG = 1


class EmbeddedStoreError(Exception):
    """The embedded server could not be started or reached; the message says why."""


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM if the owner dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uri(port: int) -> str:
    # directConnection: the server advertises a one-node replica set named
    # "secantus"; connecting directly keeps the driver from rediscovering it.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def _answers(port: int, timeout: float = 1.0) -> bool:
    """True when a MongoDB-wire server answers `ping` on the port."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[Any] = MongoClient(
        _uri(port), serverSelectionTimeoutMS=int(timeout * 1000), connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_server(pid: int, db_dir: Path) -> bool:
    """Whether `pid` is a SecantusDB server on `db_dir` (so it is safe to stop it)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"secantus" in b" ".join(cmdline) and str(db_dir).encode() in cmdline


def _read_run_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"pid": int(data["pid"]), "port": int(data["port"]), "role": str(data["role"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class EmbeddedServer:
    """A running embedded server, owned (started here) or attached to (started elsewhere)."""

    data_dir: Path
    port: int
    role: str = SERVICE
    server: str = RUST
    process: subprocess.Popen[bytes] | None = None
    _lock: Any = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return _uri(self.port)

    @property
    def owned(self) -> bool:
        return self.process is not None

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    def crashed(self) -> int | None:
        """The exit code of an owned server that has stopped by itself, else None."""
        return None if self.process is None else self.process.poll()

    def restart(self) -> None:
        """Start the server again on the same port after it crashed (clients reconnect)."""
        if self.process is None:
            raise EmbeddedStoreError("only the process that owns the embedded store restarts it")
        self.process = _spawn(self.data_dir, self.port, self.server)
        _wait_until_ready(self.process, self.port, self.log_path)
        _write_run_file(self.data_dir, self.process.pid, self.port, self.role)

    def stop(self) -> None:
        """Stop an owned server cleanly and release the directory; detach otherwise."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / RUN_FILE).unlink()
            _terminate(process.pid, process)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _terminate(pid: int, process: subprocess.Popen[bytes] | None = None) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait()


def _command(server: str, port: int, db_dir: Path) -> list[str]:
    common = ["--host", "127.0.0.1", "--port", str(port), "--storage-path", str(db_dir)]
    # Keeps quiet change streams resumable, as mongod's default does.
    common += ["--log-level", "WARNING", "--noop-heartbeat-seconds", "10"]
    if server == PYTHON:
        return [sys.executable, "-m", "secantus", *common]
    if not RUST_BINARY.exists():
        raise EmbeddedStoreError(
            f"TAGS_EMBEDDED_SERVER=rust, but secantusd-rs is not built ({RUST_BINARY} is "
            "missing): run `make run` or `make test` once to build it, or set "
            "TAGS_EMBEDDED_SERVER=python"
        )
    # A WiredTiger log file is allocated in full, so its size is an empty store's
    # size (128 MB by default); the cache default of 4 GB is more than a tags
    # workspace needs beside the service on one machine. Without
    # --sync-on-commit a kill -9 of the server loses the writes of its last
    # moments, acknowledged ones too (tests/api/test_server_process.py).
    return [
        str(RUST_BINARY),
        *common,
        "--log-file-max",
        "32MB",
        "--cache-size",
        "1G",
        "--sync-on-commit",
    ]


def _spawn(data_dir: Path, port: int, server: str) -> subprocess.Popen[bytes]:
    db_dir = data_dir / DB_DIR
    db_dir.mkdir(parents=True, exist_ok=True)
    command = _command(server, port, db_dir)
    with open(data_dir / LOG_FILE, "ab") as out:
        # A session of its own: Ctrl-C in the terminal reaches the service, which
        # drains its requests first and then stops the store.
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            cwd=data_dir,
        )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise EmbeddedStoreError(
                f"the embedded store (SecantusDB) exited with code {code} while starting; "
                f"its log {log_path}: {_tail(log_path)}"
            )
        if _answers(port, timeout=0.5):
            return
        time.sleep(0.05)
    _terminate(process.pid, process)
    raise EmbeddedStoreError(
        f"the embedded store (SecantusDB) did not answer within {START_TIMEOUT_S:.0f} s; "
        f"see {log_path}"
    )


def _write_run_file(data_dir: Path, pid: int, port: int, role: str) -> None:
    path = data_dir / RUN_FILE
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"pid": pid, "port": port, "role": role}), encoding="utf-8")
    scratch.replace(path)


def _start_owned(data_dir: Path, lock: Any, role: str, server: str) -> EmbeddedServer:
    db_dir = data_dir / DB_DIR
    stale = _read_run_file(data_dir / RUN_FILE)
    if stale and _pid_alive(stale["pid"]) and _is_our_server(stale["pid"], db_dir):
        # The previous owner died without stopping its server: it still holds
        # WiredTiger's lock on the files, so stop it before starting ours.
        log.warning("Stopping an embedded store left running by a crashed service.")
        _terminate(stale["pid"])
    with contextlib.suppress(FileNotFoundError):
        (data_dir / RUN_FILE).unlink()
    last: EmbeddedStoreError | None = None
    for _ in range(3):  # another program may take the free port before the server binds it
        port = _free_port()
        try:
            process = _spawn(data_dir, port, server)
        except EmbeddedStoreError:
            lock.close()
            raise
        try:
            _wait_until_ready(process, port, data_dir / LOG_FILE)
        except EmbeddedStoreError as exc:
            last = exc
            continue
        _write_run_file(data_dir, process.pid, port, role)
        return EmbeddedServer(data_dir, port, role, server, process, lock)
    lock.close()
    assert last is not None
    raise last


def _attach(data_dir: Path, role: str) -> EmbeddedServer | None:
    """The running server if it can be used now; None to try again shortly.

    A service does not attach to a server a console command started: it would
    vanish when the command ends.
    """
    run = _read_run_file(data_dir / RUN_FILE)
    if run is None or (role == SERVICE and run["role"] == CONSOLE):
        return None
    if not _answers(run["port"], timeout=0.5):
        return None
    return EmbeddedServer(data_dir, run["port"], run["role"])


def start_or_attach(data_dir: Path, role: str = SERVICE, server: str = RUST) -> EmbeddedServer:
    """The embedded server on `data_dir`: started here when nobody runs it, else the running one.

    `server` (RUST or PYTHON) is the one to start; a running one is used whichever
    it is, since both keep the same files. `role` is SERVICE or CONSOLE. A service
    does not attach to a server a console command started (it would vanish when the
    command ends): it waits for the command to finish and then starts its own.
    """
    data_dir = data_dir.resolve()
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            lock = open(data_dir / LOCK_FILE, "a+b")  # noqa: SIM115 - held until stop()
        except OSError as exc:
            raise EmbeddedStoreError(
                f"cannot use the data directory {data_dir}: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            running = _attach(data_dir, role)
            if running is not None:
                return running
            if time.monotonic() > deadline:
                raise EmbeddedStoreError(
                    f"another process holds the embedded store in {data_dir} (a tags-admin "
                    f"command, or a service whose store does not answer); see "
                    f"{data_dir / LOG_FILE}"
                ) from None
            time.sleep(0.1)
            continue
        return _start_owned(data_dir, lock, role, server)
