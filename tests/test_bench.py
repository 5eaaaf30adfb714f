"""The benchmark harness runs (timings themselves live in bench/REPORT.md, not in tests)."""

from __future__ import annotations

import subprocess
import sys

from tests.harness import ROOT


def test_quick_benchmark_runs():
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for flow in ("tag picker", "tag tree", "resource tags (50)", "createTag", "addTagsToResources"):
        assert f"| {flow}" in done.stdout
    assert "graphql-core floor" in done.stdout and "Starlette floor" in done.stdout
