"""Two uvicorn workers on the embedded store, as real processes.

`python server.py` with TAGS_WORKERS=2 and no TAGS_MONGODB_URI starts one
SecantusDB server and two workers that attach to it. Which worker accepts a
connection is the kernel's choice, so the test looks it up: the server end of
each client socket is found in /proc/net/tcp and its inode in the workers'
/proc/<pid>/fd. Subscribers held by both workers must receive every event,
in commit order, whichever worker made the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.graphql_ws import CREATE, WAIT, Subscriber, new_workspace, until_live
from tests.harness import start_server

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="maps sockets to processes through /proc"
)

LISTENING = "0A"
ESTABLISHED = "01"
# Bounds on how many connections may be opened before both workers have taken one.
MAX_SUBSCRIBERS = 100
MAX_MUTATIONS = 200
# Spawned workers import the service first; a busy machine makes that slow.
STARTUP_WAIT = 120.0


def _tcp_sockets(port: int) -> list[tuple[str, int, int]]:
    """(state, remote port, inode) of every IPv4 socket whose local port is `port`."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        if int(local.split(":")[1], 16) == port:
            rows.append((state, int(remote.split(":")[1], 16), inode))
    return rows


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                # The command name may hold spaces; the fields after ')' do not.
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Workers:
    """The service's worker processes: the children that hold its listening socket."""

    def __init__(self, main_pid: int, port: int) -> None:
        self.main_pid = main_pid
        self.port = port
        self.pids: list[int] = []

    def find(self) -> list[int]:
        listening = {inode for state, _, inode in _tcp_sockets(self.port) if state == LISTENING}
        assert listening, "nothing listens on the service's port"
        self.pids = sorted(p for p in _children(self.main_pid) if _socket_inodes(p) & listening)
        return self.pids

    def serving(self, client_port: int) -> int:
        """The worker that holds the server end of the client's connection."""
        inodes = {
            inode
            for state, remote, inode in _tcp_sockets(self.port)
            if state == ESTABLISHED and remote == client_port
        }
        assert inodes, f"no server socket for client port {client_port}"
        owners = [pid for pid in self.pids if _socket_inodes(pid) & inodes]
        assert len(owners) == 1, f"client port {client_port} is held by {owners}"
        return owners[0]

    async def until_both_serve(self, base: str) -> None:
        """A worker takes connections only once started; both must have taken one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_WAIT
        served: set[int] = set()
        while True:
            assert loop.time() < deadline, f"workers {self.pids} did not all serve: {served}"
            if len(self.find()) == 2:
                async with httpx.AsyncClient(timeout=WAIT) as http:
                    response = await http.get(f"{base}/healthz")
                    assert response.status_code == 200
                    served.add(self.serving(_client_port(response)))
                served &= set(self.pids)  # a restarted worker would have a new pid
                if served == set(self.pids):
                    return
            else:
                await asyncio.sleep(0.1)


def _client_port(response: httpx.Response) -> int:
    # Read while the connection is still open (keep-alive): its client closes it last.
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


async def _mutation_on_a_fresh_connection(
    url: str, workers: Workers, workspace: str, name: str
) -> tuple[str, int]:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        response = await http.post(
            url, json={"query": CREATE, "variables": {"ws": workspace, "name": name}}
        )
        created = response.json()["data"]["createTag"]
        assert created["userErrors"] == [], created
        return created["tag"]["id"], workers.serving(_client_port(response))


async def test_two_workers_share_every_event_and_stop_on_sigterm(tmp_path: Path) -> None:
    log = (tmp_path / "service.log").open("w")
    data_dir = tmp_path / "data"
    process, base = start_server(
        output=log, TAGS_WORKERS="2", TAGS_DATA_DIR=str(data_dir), TAGS_AUTH_MODE="dev"
    )
    url = f"{base}/graphql"
    port = int(base.rsplit(":", 1)[1])
    store_pid = json.loads((data_dir / "server.json").read_text())["pid"]
    subscribers: list[Subscriber] = []
    workers: Workers | None = None
    try:
        assert store_pid in _children(process.pid), "the store is not the service's child"
        workers = Workers(process.pid, port)
        await workers.until_both_serve(base)
        assert store_pid not in workers.pids
        ws = new_workspace("workers")

        # Subscribers until each worker holds at least two.
        held: dict[int, list[Subscriber]] = {pid: [] for pid in workers.pids}
        while min(len(s) for s in held.values()) < 2:
            assert len(subscribers) < MAX_SUBSCRIBERS, f"one worker took every socket: {held}"
            subscriber = await Subscriber.open(url, ws)
            subscribers.append(subscriber)
            held[workers.serving(subscriber.socket.local_address[1])].append(subscriber)
        async with httpx.AsyncClient(timeout=WAIT) as http:
            await until_live(subscribers, http, url, ws)

        # Mutations on fresh connections until each worker has made at least three.
        made: list[str] = []
        made_by: dict[int, int] = dict.fromkeys(workers.pids, 0)
        while min(made_by.values()) < 3:
            assert len(made) < MAX_MUTATIONS, f"one worker took every mutation: {made_by}"
            tag_id, pid = await _mutation_on_a_fresh_connection(
                url, workers, ws, f"Change {len(made)}"
            )
            made.append(tag_id)
            made_by[pid] += 1

        for subscriber in subscribers:
            events = [await subscriber.next_event() for _ in made]
            assert [e["tagId"] for e in events] == made
            assert {e["kind"] for e in events} == {"CREATED"}
            assert [e["tag"]["name"] for e in events] == [f"Change {i}" for i in range(len(made))]

        assert workers.find() == sorted(held), "a worker was restarted during the test"

        # SIGTERM with subscribers still connected: everything stops, exit code 0.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, (tmp_path / "service.log").read_text()
        for subscriber in subscribers:
            with pytest.raises(ConnectionClosed):
                await subscriber.receive()
        assert not _alive(store_pid), "the embedded store outlived the service"
        assert not any(_alive(pid) for pid in workers.pids), "a worker outlived the service"
        assert not (data_dir / "server.json").exists()
        # Each worker logs (its logging is set up in the spawned process) and uses the shared bus.
        output = (tmp_path / "service.log").read_text()
        assert output.count("Tag events travel through MongoDB change streams.") == 2, output
        assert output.count("INFO tags.access: anonymous ok") >= len(made), output
        assert "uvicorn.access" not in output
    finally:
        for subscriber in subscribers:
            await subscriber.close()
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        for pid in [*(workers.pids if workers else []), store_pid, process.pid]:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        log.close()
