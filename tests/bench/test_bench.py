"""The benchmark harness runs (timings themselves live in bench/REPORT.md, not in tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.harness import ROOT


def test_quick_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for flow in ("tag picker", "tag tree", "resource tags (50)", "createTag", "addTagsToResources"):
        assert f"| {flow}" in out
    assert "graphql-core floor" in out and "Starlette floor" in out
    # Every read flow got a floor and a CPU ratio (a number, whatever its value).
    assert len(re.findall(r"\*\*\d+\.\d\d\u00d7\*\*", out)) >= 3
    # The load harness drove a real server process: a row for one worker, no errors.
    load_row = re.search(r"^\| 1 \| (\d+) in \d+ s \|.*\| (\d+) \| [\d.]+ \|", out, re.M)
    assert load_row, out[-3000:]
    assert int(load_row.group(1)) > 0 and load_row.group(2) == "0"
    # The bulk section measured /healthz during a bulk addTagsToResources, which succeeded.
    big = re.search(r"^\| addTagsToResources \| (\d+) \u00d7 (\d+) \| (\d+) added \|", out, re.M)
    assert big, out[-3000:]
    assert int(big.group(3)) == int(big.group(1)) * int(big.group(2))
    # (1.2) The import of a tag file went through, and so did its copy by tags-admin.
    assert re.search(r"^\| import CSV, 50 new tags .*\| 50 created, 0 updated", out, re.M), out[
        -3000:
    ]
    assert "exported again it is the very same file" in out
    # The report runs on a real server and says which.
    assert "SecantusDB server in a child process" in out or "`TAGS_MONGODB_URI`" in out
    assert "in-memory store" not in out
    # Every goal of issue 18 is judged, MET or NOT MET with its figure.
    goals = out.split("## Goals (issue 18)", 1)[1].split("\n## ", 1)[0]
    verdicts = re.findall(r"^\| .+ \| .+ \| \*\*(MET|NOT MET)\*\* \|$", goals, re.M)
    assert len(verdicts) == 8, goals
    if not os.environ.get("TAGS_MONGODB_URI"):
        # Both embedded servers, every section on each, side by side with the ratio.
        assert out.count("### On `rust` (secantusd-rs)") == 6
        assert out.count("### On `python` (secantusd-py)") == 6
        side = out.split("## Both servers side by side", 1)[1].split("\n## ", 1)[0]
        assert "| figure | `rust` | `python` | python / rust |" in side
        assert re.search(
            r"^\| load, 1 worker: throughput \(req/s\) \| [\d.]+ \| [\d.]+ \| [\d.]+\u00d7",
            side,
            re.M,
        )
