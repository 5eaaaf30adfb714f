"""(1.2) Exporting and importing 10 000 tags, and /healthz while they run.

    python -m bench.tag_files           # 10 000 tags; prints and writes bench/TAG_FILES.md
    python -m bench.tag_files --quick   # 50 tags, to check the harness (writes nothing)

`make bench` runs it too, as the report's "Export and import" section.

Against `python server.py` (1 worker) on an embedded store of its own (or a
database of its own on TAGS_MONGODB_URI): a CSV of 10 000 new tags (100 roots
with 99 children each, every child named before its parent) is imported, then
dry-run, imported again (nothing changes), imported with every description
changed (10 000 updates), and exported in each format. The JSON export of
10 000 tags is larger than a request body may be, so it goes back into an
empty workspace through `tags-admin import` on the same store. Meanwhile
another thread sends `/healthz` back to back: its latency shows whether the
event loop was held up (the file is read and planned in a worker thread).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.bulk import _measured, _percentile, _poll
from devtools.process import ROOT, start_server

IMPORT = """
mutation($input: ImportTagsInput!) {
  importTags(input: $input) { created updated unchanged userErrors { code field message } }
}
"""
EXPORT = """
query($ws: ID!, $format: TagFileFormat!) {
  exportTags(workspaceId: $ws, format: $format) { tagCount content }
}
"""
WORKSPACE = "bench-files"


@contextmanager
def _service() -> Iterator[tuple[str, dict[str, str]]]:
    """The server's base URL, and the environment that reaches its store."""
    env = {"TAGS_LOG_LEVEL": "warning"}
    scratch: str | None = None
    uri = os.environ.get("TAGS_MONGODB_URI")
    if uri:
        env.update(
            TAGS_MONGODB_URI=uri,
            TAGS_MONGODB_DB=f"tags_bench_io_{uuid.uuid4().hex[:8]}",
            TAGS_AUTH_MODE="dev",
        )
    else:
        scratch = tempfile.mkdtemp(prefix="tags-bench-io-")
        env["TAGS_DATA_DIR"] = scratch
    server, base = start_server(**env)
    try:
        yield base, env
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if uri:
            from pymongo import MongoClient

            client: MongoClient[Any] = MongoClient(uri, serverSelectionTimeoutMS=5000)
            client.drop_database(env["TAGS_MONGODB_DB"])
            client.close()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _csv(roots: int, children: int, description: str) -> str:
    lines = ["name,slug,parent,description"]
    for r in range(roots):
        lines += [f"Child {r}-{c},,root-{r},{description}" for c in range(children)]
        lines.append(f"Root {r},root-{r},,{description}")
    return "\r\n".join(lines) + "\r\n"


def _trips(outcome: dict[str, Any]) -> Any:
    return ((outcome["answer"].get("extensions") or {}).get("cost") or {}).get("dbRoundTrips")


def _outcome(outcome: dict[str, Any]) -> str:
    answer = outcome["answer"]
    if answer.get("errors"):
        return "error: " + str(answer["errors"][0].get("message"))[:60]
    payload = next(iter(answer["data"].values()))
    if "tagCount" in payload:
        return f"{payload['tagCount']} tags, {len(payload['content'].encode()) / 1e6:.2f} MB"
    if payload.get("userErrors"):
        return "user error: " + payload["userErrors"][0]["code"]
    return f"{payload['created']} created, {payload['updated']} updated, {payload['unchanged']} unchanged"


def _row(name: str, outcome: dict[str, Any]) -> str:
    busy = outcome["healthz"]
    return (
        f"| {name} | {_outcome(outcome)} | {outcome['seconds']:.1f} s | {_trips(outcome)} | "
        f"{len(busy)} | {_percentile(busy, 50) * 1000:.1f} ms | "
        f"{_percentile(busy, 99) * 1000:.1f} ms | {max(busy, default=float('nan')) * 1000:.1f} ms |"
    )


def _cli_import(env: dict[str, str], path: Path, workspace: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.tags_admin",
            "import",
            "--workspace",
            workspace,
            "--format",
            "json",
            str(path),
        ],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    return seconds, (done.stdout.strip() or done.stderr.strip().splitlines()[-1])


def run_report(quick: bool = False) -> list[str]:
    roots, children = (5, 9) if quick else (100, 99)
    total = roots * (children + 1)
    first, second = _csv(roots, children, "first"), _csv(roots, children, "second")

    def imported(content: str, **more: Any) -> dict[str, Any]:
        variables = {
            "input": {"workspaceId": WORKSPACE, "format": "CSV", "content": content, **more}
        }
        return _measured(base, IMPORT, variables)

    rows: list[str] = []
    with _service() as (base, env):
        idle = _poll(base, None, 2.0)
        rows.append(_row(f"import CSV, {total} new tags (parents after children)", imported(first)))
        rows.append(_row("the same file, dryRun", imported(first, dryRun=True)))
        rows.append(_row("the same file again", imported(first)))
        rows.append(_row(f"every description changed ({total} updates)", imported(second)))
        exported: dict[str, str] = {}
        for file_format in ("JSON", "CSV", "GITHUB_LABELS"):
            outcome = _measured(base, EXPORT, {"ws": WORKSPACE, "format": file_format})
            exported[file_format] = outcome["answer"]["data"]["exportTags"]["content"]
            rows.append(_row(f"export {file_format}", outcome))
        with tempfile.TemporaryDirectory(prefix="tags-bench-io-file-") as folder:
            path = Path(folder) / "tags.json"
            path.write_text(exported["JSON"], encoding="utf-8")
            cli_seconds, cli_said = _cli_import(env, path, "bench-files-copy")
        copy = _measured(base, EXPORT, {"ws": "bench-files-copy", "format": "JSON"})
        same = copy["answer"]["data"]["exportTags"]["content"] == exported["JSON"]
    size = len(exported["JSON"].encode()) / 1e6
    return [
        "`python server.py` (1 worker) on a store of its own; `/healthz` sent back to back "
        f"from another thread while each request runs (idle p99 before: "
        f"{_percentile(idle, 99) * 1000:.1f} ms). Round trips are `extensions.cost.dbRoundTrips`.",
        "",
        "| request | outcome | wall | round trips | /healthz requests during it | p50 | p99 | max |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"The JSON export ({size:.2f} MB) into an empty workspace with `tags-admin import` "
        f"(a process of its own on the same store, start-up included): {cli_seconds:.1f} s, "
        f"`{cli_said}`; exported again it is {'the very same file' if same else 'a DIFFERENT file'}.",
    ]


OUT = Path(__file__).with_name("TAG_FILES.md")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.tag_files")
    parser.add_argument("--quick", action="store_true", help="50 tags")
    quick = parser.parse_args().quick
    lines = run_report(quick)
    print("\n".join(lines))
    if not quick:
        from bench.process import store_label
        from bench.run import machine

        header = [
            "# Export and import of 10 000 tags",
            "",
            f"- Machine: {machine()}; other jobs may share it, so wall times are noisy",
            f"- Store: {store_label()}",
            "- Command: `python -m bench.tag_files` (also a section of `make bench`)",
            "",
        ]
        OUT.write_text("\n".join([*header, *lines]) + "\n", encoding="utf-8")
