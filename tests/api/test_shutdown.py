"""SIGTERM stops the service within the contract's 10 s, whatever is still open.

A real `python server.py` on its embedded store, with an event stream open (it
never ends by itself) and a request in flight (its client sends half a body
and waits, so the request cannot finish): the stream ends with `complete` at
once, the request is cancelled after the grace period, and the process and its
store child are gone, with exit code 0, well inside 10 s.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.harness import alive, start_server

# The contract's bound. A guard on a subprocess, not a benchmark.
CONTRACT_S = 10.0
SUBSCRIBE = json.dumps(
    {"query": 'subscription { tagEvents(workspaceId: "w") { kind tagId } }'}
).encode()


def open_request(port: int, body: bytes, sent: int, accept: str) -> socket.socket:
    """A POST /graphql whose first `sent` body bytes are sent; the rest never are."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=CONTRACT_S)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAccept: {accept}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:sent])
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = sock.recv(65536)
        if not chunk:
            break
        seen += chunk
    return seen


def test_sigterm_with_a_stream_open_and_a_request_in_flight_exits_0_within_10_s(
    tmp_path: Path,
) -> None:
    process, url = start_server(output=subprocess.PIPE, TAGS_DATA_DIR=str(tmp_path))
    port = int(url.rsplit(":", 1)[1])
    store_pid = int(json.loads((tmp_path / "server.json").read_text())["pid"])
    stream = open_request(port, SUBSCRIBE, len(SUBSCRIBE), "text/event-stream")
    stuck = open_request(port, b'{"query": "{ viewer { id } }"}', 10, "application/json")
    try:
        # The stream is open once its first comment arrives.
        assert b":\n\n" in read_until(stream, b":\n\n")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=CONTRACT_S * 2)
        finally:
            if process.poll() is None:
                process.kill()
        took = time.monotonic() - started
        assert process.returncode == 0, output
        assert took < CONTRACT_S, f"took {took:.1f} s\n{output}"
        assert "Traceback" not in output, output
        # The stream was told it is over rather than cut.
        assert b"event: complete" in read_until(stream, b"event: complete")
        deadline = time.monotonic() + 5
        while alive(store_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(store_pid), "the embedded store outlived the service"
    finally:
        stream.close()
        stuck.close()
        if process.poll() is None:
            process.kill()
