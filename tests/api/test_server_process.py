"""The real server process on its embedded store: start, stop, restarts, crashes, tags-admin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.embedded import CONSOLE, start_or_attach
from tests.harness import ROOT, alive, start_server

VIEWER = {"query": "{ viewer { id } }"}
CREATE = {"query": 'mutation { createTag(input: {workspaceId: "w", name: "Kept"}) { tag { id } } }'}
TAGS = {"query": '{ tags(workspaceId: "w") { nodes { name } } }'}


def post(url: str, body: dict[str, Any], **headers: str) -> dict[str, object]:
    response = httpx.post(f"{url}/graphql", json=body, headers=headers, timeout=10)
    return response.json()


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    return output or ""


def store_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "server.json").read_text())["pid"])


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGS_")}
    env["TAGS_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from cli import tags_admin; raise SystemExit(tags_admin.main())",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_on_the_embedded_store_then_exits_zero_on_signal(
    sig: signal.Signals, tmp_path: Path
) -> None:
    process, url = start_server(output=subprocess.PIPE, TAGS_DATA_DIR=str(tmp_path))
    db_pid = store_pid(tmp_path)
    assert alive(db_pid)
    assert post(url, VIEWER)["data"] == {"viewer": {"id": "dev"}}
    output = stop(process, sig)
    assert process.returncode == 0
    assert "Traceback" not in output
    assert "Embedded store: SecantusDB" in output
    assert wait_gone(db_pid), "the embedded store outlived the service"
    assert not (tmp_path / "server.json").exists()


def test_data_survives_a_restart(tmp_path: Path) -> None:
    process, url = start_server(TAGS_DATA_DIR=str(tmp_path))
    try:
        assert post(url, CREATE)["data"]["createTag"]["tag"]["id"]  # type: ignore[index]
    finally:
        stop(process)
    process, url = start_server(TAGS_DATA_DIR=str(tmp_path))
    try:
        assert post(url, TAGS)["data"] == {"tags": {"nodes": [{"name": "Kept"}]}}
    finally:
        stop(process)


def test_tags_admin_reaches_the_same_data_with_and_without_a_running_service(
    tmp_path: Path,
) -> None:
    # No service running: tags-admin starts the store for the command, then stops it.
    made = admin(
        tmp_path, "keys", "create", "--name", "ci", "--scopes", "tags:read", "--workspaces", "w"
    )
    assert made.returncode == 0, made.stderr
    assert "started its embedded store" in made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert not (tmp_path / "server.json").exists()

    process, url = start_server(TAGS_DATA_DIR=str(tmp_path), TAGS_AUTH_MODE="required")
    try:
        assert post(url, VIEWER)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
        assert "viewer" in post(url, VIEWER, **{"X-API-Key": key})["data"]  # type: ignore[operator]
        # With the service running, tags-admin attaches to its store.
        second = admin(
            tmp_path,
            "keys",
            "create",
            "--name",
            "two",
            "--scopes",
            "tags:read",
            "--workspaces",
            "w",
        )
        assert second.returncode == 0, second.stderr
        assert "started" not in second.stderr
        other = second.stdout.strip().splitlines()[-1]
        assert "viewer" in post(url, VIEWER, **{"X-API-Key": other})["data"]  # type: ignore[operator]
    finally:
        stop(process)


def test_a_killed_service_leaves_nothing_that_blocks_the_next_start(tmp_path: Path) -> None:
    process, url = start_server(TAGS_DATA_DIR=str(tmp_path))
    post(url, CREATE)
    db_pid = store_pid(tmp_path)
    process.kill()
    process.wait()
    # The store dies with its owner; the lock and the stale run file are recovered.
    assert wait_gone(db_pid)
    process, url = start_server(TAGS_DATA_DIR=str(tmp_path))
    try:
        assert post(url, TAGS)["data"] == {"tags": {"nodes": [{"name": "Kept"}]}}
        assert store_pid(tmp_path) != db_pid
    finally:
        stop(process)


def test_a_crashed_store_is_reported_and_restarted(tmp_path: Path) -> None:
    process, url = start_server(output=subprocess.PIPE, TAGS_DATA_DIR=str(tmp_path))
    try:
        post(url, CREATE)
        # Like mongod without `j: true`, the store flushes its journal in the
        # background: a kill -9 within a fraction of a second may lose the last writes.
        time.sleep(1.5)
        db_pid = store_pid(tmp_path)
        os.kill(db_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                body = post(url, TAGS)
                restarted = (tmp_path / "server.json").exists() and store_pid(tmp_path) != db_pid
                if restarted and body.get("data") == {"tags": {"nodes": [{"name": "Kept"}]}}:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the store did not come back"
            time.sleep(0.2)
        again = {"query": CREATE["query"].replace("Kept", "After")}
        assert post(url, again)["data"]["createTag"]["tag"]  # type: ignore[index]
    finally:
        output = stop(process)
    assert "exited unexpectedly" in output
    assert process.returncode == 0


def test_a_store_that_cannot_start_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGS_")}
    env.update(TAGS_DATA_DIR=str(blocker / "data"), TAGS_PORT="0")
    done = subprocess.run(
        [sys.executable, "server.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "embedded store could not start" in done.stderr


def test_a_service_waits_for_a_console_command_that_holds_the_store(tmp_path: Path) -> None:
    held = start_or_attach(tmp_path, CONSOLE)
    release = threading.Timer(2.0, held.stop)
    release.start()
    try:
        process, url = start_server(TAGS_DATA_DIR=str(tmp_path))
    finally:
        release.join()
    try:
        run = json.loads((tmp_path / "server.json").read_text())
        assert run["role"] == "service" and run["pid"] != held.port
        assert post(url, VIEWER)["data"] == {"viewer": {"id": "dev"}}
    finally:
        stop(process)


CREATE_WITH_ALIAS = {
    "query": 'mutation { createTag(input: {workspaceId: "w", name: "%s", aliases: ["%s"]}) '
    "{ tag { id } userErrors { code } } }"
}
NAMES = {"query": '{ tags(workspaceId: "w") { nodes { name aliases } } }'}


def _create(url: str, name: str, alias: str) -> dict[str, Any]:
    body = {"query": CREATE_WITH_ALIAS["query"] % (name, alias)}
    return post(url, body)["data"]["createTag"]  # type: ignore[index]


@pytest.mark.skipif(bool(os.environ.get("TAGS_MONGODB_URI")), reason="the embedded store's servers")
@pytest.mark.parametrize(("first", "second"), [("python", "rust"), ("rust", "python")])
def test_a_data_directory_one_server_wrote_opens_with_the_other(
    first: str, second: str, tmp_path: Path
) -> None:
    process, url = start_server(
        output=subprocess.PIPE, TAGS_DATA_DIR=str(tmp_path), TAGS_EMBEDDED_SERVER=first
    )
    try:
        assert _create(url, "Kept", "kept-alias")["userErrors"] == []
    finally:
        output = stop(process)
    assert f"SecantusDB ({first} server)" in output

    process, url = start_server(
        output=subprocess.PIPE, TAGS_DATA_DIR=str(tmp_path), TAGS_EMBEDDED_SERVER=second
    )
    try:
        assert post(url, NAMES)["data"] == {
            "tags": {"nodes": [{"name": "Kept", "aliases": ["kept-alias"]}]}
        }
        # The unique indexes came across with the documents: the alias is still taken.
        assert _create(url, "Kept-Alias", "other")["userErrors"] == [{"code": "NAME_TAKEN"}]
        assert _create(url, "Second", "second-alias")["userErrors"] == []
    finally:
        output = stop(process)
    assert f"SecantusDB ({second} server)" in output


PAGE = (
    'query($after: String) { tags(workspaceId: "w", first: 100, after: $after) '
    "{ nodes { name } pageInfo { hasNextPage endCursor } } }"
)
CREATE_NAMED = 'mutation { createTag(input: {workspaceId: "w", name: "%s"}) { tag { id } } }'


def all_names(url: str) -> set[str]:
    names: set[str] = set()
    after = None
    while True:
        page = post(url, {"query": PAGE, "variables": {"after": after}})["data"]["tags"]  # type: ignore[index]
        names |= {node["name"] for node in page["nodes"]}
        if not page["pageInfo"]["hasNextPage"]:
            return names
        after = page["pageInfo"]["endCursor"]


@pytest.mark.skipif(
    os.environ.get("TAGS_EMBEDDED_SERVER", "rust") != "rust",
    reason="the Python server flushes its journal in the background (README)",
)
def test_a_store_killed_under_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    process, url = start_server(output=subprocess.PIPE, TAGS_DATA_DIR=str(tmp_path))
    acknowledged: list[str] = []
    stop_writing = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(timeout=10) as client:
            i = 0
            while not stop_writing.is_set():
                i += 1
                name = f"w{n}-{i}"
                try:
                    body = client.post(f"{url}/graphql", json={"query": CREATE_NAMED % name})
                except httpx.HTTPError:
                    continue
                if ((body.json().get("data") or {}).get("createTag") or {}).get("tag"):
                    acknowledged.append(name)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    try:
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(store_pid(tmp_path), signal.SIGKILL)
        time.sleep(1.0)
        stop_writing.set()
        for thread in writers:
            thread.join()
        deadline = time.monotonic() + 30
        while not post(url, TAGS).get("data"):
            assert time.monotonic() < deadline, "the store did not come back"
            time.sleep(0.2)
        names = all_names(url)
    finally:
        stop_writing.set()
        stop(process)
    assert len(acknowledged) >= 40
    # Every write the service acknowledged, up to the kill, is there after the restart.
    assert [name for name in acknowledged if name not in names] == []
