"""The database server tests and benchmarks run on.

`TAGS_MONGODB_URI` when set; else one SecantusDB server (the embedded store
`make run` uses) that this process starts on first use, in a temporary
directory, so the user's .data/ is never touched. It stops, and its directory
goes, when `stop_store_server` is called or the process exits.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path

from config.settings import embedded_server_of
from storage.embedded import EmbeddedServer, start_or_attach

_server: EmbeddedServer | None = None
_scratch: tempfile.TemporaryDirectory[str] | None = None


def store_uri() -> str:
    """The URI of the database server, started on first use."""
    global _server, _scratch
    configured = os.environ.get("TAGS_MONGODB_URI")
    if configured:
        return configured
    if _server is None:
        _scratch = tempfile.TemporaryDirectory(prefix="tags-scratch-store-")
        _server = start_or_attach(Path(_scratch.name), server=embedded_server_of(os.environ))
        atexit.register(stop_store_server)
    return _server.uri


def store_pid() -> int | None:
    """The pid of the embedded server this process started; None on an external one."""
    if _server is None or _server.process is None:
        return None
    return int(_server.process.pid)


def stop_store_server() -> None:
    global _server, _scratch
    if _server is not None:
        _server.stop()
        _server = None
    if _scratch is not None:
        _scratch.cleanup()
        _scratch = None
