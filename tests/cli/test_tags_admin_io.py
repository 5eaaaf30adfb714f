"""`tags-admin export` / `import` (1.2): what exportTags/importTags do, as the principal
`tags-admin`, on the store of TAGS_MONGODB_URI / TAGS_MONGODB_DB; a progress bar on a
terminal, plain lines otherwise."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ROOT, drop_database, fresh_db_name, store_uri, stored

CSV = "name,parent,description\r\nProduct,,\r\nWeb,product,=1+1\r\nCheckout,web,\r\n"


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    name = fresh_db_name("tags_cli")
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TAGS_MONGODB_URI": store_uri(),
        "TAGS_MONGODB_DB": name,
        "TAGS_AUTH_MODE": "dev",
    }
    yield environ
    drop_database(name)


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "cli.tags_admin", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    # Decoded by hand: text mode would turn the CSV's CRLF into LF.
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_import_then_export_through_the_console(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "tags.csv"
    source.write_bytes(CSV.encode())
    dry = admin(env, "import", "--workspace", "demo", "--format", "csv", "--dry-run", str(source))
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == "would create 3, updated 0, unchanged 0\n"

    done = admin(env, "import", "--workspace", "demo", "--format", "csv", str(source))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "created 3, updated 0, unchanged 0\n"
    # The history says who: the console itself.
    entries = stored(env["TAGS_MONGODB_DB"], "tag_changes")
    assert [(e["kind"], e["actor"]) for e in entries] == [("IMPORTED", "tags-admin")] * 3
    # Not a terminal: plain progress lines on stderr, no bar.
    assert "tags-admin: import: writing 3 of 3 tags" in done.stderr
    assert "━" not in done.stderr

    again = admin(
        env, "import", "--workspace", "demo", "--format", "csv", "--create-only", str(source)
    )
    assert again.stdout == "created 0, updated 0, unchanged 3\n"

    target = tmp_path / "out.json"
    exported = admin(env, "export", "--workspace", "demo", "--format", "json", str(target))
    assert exported.returncode == 0, exported.stderr
    assert f"exported 3 tags of 'demo' to {target}" in exported.stderr
    tags = json.loads(target.read_text(encoding="utf-8"))["tags"]
    assert [(t["name"], t["parent"], t["description"]) for t in tags] == [
        ("Product", None, None),
        ("Web", "product", "=1+1"),
        ("Checkout", "web", None),
    ]
    # To stdout, the file alone; CSV keeps its CRLF and neutralized cells.
    to_stdout = admin(env, "export", "--workspace", "demo", "--format", "csv")
    assert to_stdout.stdout.replace("'=1+1", "=1+1") == (
        "name,slug,color,description,category,parent,aliases,exclusive,archived\r\n"
        + "".join(
            f"{n},{s},{c},{d},,{p},,false,false\r\n"
            for n, s, c, d, p in [
                ("Product", "product", tags[0]["color"], "", ""),
                ("Web", "web", tags[1]["color"], "=1+1", "product"),
                ("Checkout", "checkout", tags[2]["color"], "", "web"),
            ]
        )
    )
    assert "'=1+1" in to_stdout.stdout


def test_a_bad_file_changes_nothing_and_says_where(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"name,color\r\nFine,\r\n" + b"x" * 101 + b",red\r\n")
    done = admin(env, "import", "--workspace", "demo", "--format", "csv", str(bad))
    assert done.returncode == 1
    assert "tags-admin: row 2, name: Name must be 1-100 characters." in done.stderr
    assert "tags-admin: row 2, color: Color must be 6 hex digits" in done.stderr
    assert "nothing was imported (2 problems)" in done.stderr
    exported = admin(env, "export", "--workspace", "demo", "--format", "github-labels")
    assert exported.stdout == "[]\n"
    not_utf8 = tmp_path / "latin1.csv"
    not_utf8.write_bytes("name\r\nSão Paulo\r\n".encode("latin-1"))
    refused = admin(env, "import", "--workspace", "demo", "--format", "csv", str(not_utf8))
    assert refused.returncode == 2 and "is not UTF-8 text" in refused.stderr
    bad_ws = admin(env, "export", "--workspace", "a/b", "--format", "json")
    assert bad_ws.returncode == 2 and "is not a workspace id" in bad_ws.stderr


def test_a_terminal_gets_a_progress_bar(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "tags.csv"
    source.write_bytes(CSV.encode())
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.tags_admin",
                "import",
                "--workspace",
                "demo",
                "--format",
                "csv",
                str(source),
            ],
            env={**env, "COLUMNS": "100"},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            shown += chunk
        out, _ = process.communicate(timeout=120)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert process.returncode == 0, shown
    assert out == b"created 3, updated 0, unchanged 0\n"
    text = shown.decode("utf-8", "replace")
    assert "import: writing" in text and "━" in text and "3/3" in text
    assert "tags-admin: import: writing 3 of 3 tags" not in text
