"""The graphql-http GraphQL-over-HTTP audits (MUST, SHOULD and MAY) against a running server."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.harness import ROOT, live_server

AUDIT = ROOT.parent / "shared" / "tools" / "http-audit" / "run"


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm absent"
)
@pytest.mark.skipif(
    not AUDIT.exists(), reason="the shared http-audit tool is not beside the project"
)
def test_every_graphql_over_http_audit_passes() -> None:
    with live_server() as url:
        done = subprocess.run(
            [str(AUDIT), url, "--verbose"], capture_output=True, text=True, timeout=600
        )
    failures = [line for line in done.stdout.splitlines() if "\tFAIL\t" in line]
    assert done.returncode == 0 and not failures, "\n".join(failures) or done.stderr
    assert "failures by level: MUST 0, SHOULD 0, MAY 0" in done.stdout
