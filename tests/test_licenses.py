"""Every locked dependency's licence fits how we ship the service (LICENSE: Apache-2.0).

`make licenses` (or `python -m tests.test_licenses`) prints the verdict for each
locked package; the test fails on any licence the policy below does not allow.
Licences are read by pip-licenses from the installed packages' metadata.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKS = [ROOT / "requirements" / "main.lock", ROOT / "requirements" / "dev.lock"]

# Licences whose terms let us ship, link and extend the service under Apache-2.0:
# permissive ones, and MPL-2.0, whose copyleft covers only changed files of that
# package (we change none).
ALLOWED = {
    "0BSD",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "CC0-1.0",
    "ISC",
    "MIT",
    "MIT-0",
    "MPL-2.0",
    "PSF-2.0",
    "Zlib",
}
# The one copyleft exception, with its condition. SecantusDB (the embedded store)
# is GPL-2.0-only, which Apache-2.0 code may not link with. We never import it: the
# service runs it as a separate program (`python -m secantus`) and talks to it over
# a socket with the MongoDB driver, so the service is not a derivative work.
# `test_the_service_never_imports_secantus` keeps that condition true; anyone who
# imports it must drop this exception and ship that program under the GPL.
SEPARATE_PROGRAM = {"secantusdb": {"GPL-2.0-only", "CC-BY-4.0"}}
# Names in package metadata (classifiers, free text) for the SPDX ids above.
ALIASES = {
    "MIT License": "MIT",
    "BSD License": "BSD-3-Clause",
    "Apache Software License": "Apache-2.0",
    "Apache License 2.0": "Apache-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
}
# Classifiers that say something about a licence without naming one.
NOT_LICENCES = {"DFSG approved", "OSI Approved"}
# Our own package, installed in editable mode: its licence is LICENSE.
OURS = {"tags-service"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages() -> dict[str, str]:
    """name -> version of every package pinned in the lock files."""
    pins: dict[str, str] = {}
    for lock in LOCKS:
        for line in lock.read_text(encoding="utf-8").splitlines():
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
            if match:
                pins[normalize(match[1])] = match[2]
    return pins


def installed_licenses() -> dict[str, tuple[str, str]]:
    """name -> (version, licence) of every installed package, from pip-licenses."""
    out = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--from=mixed", "--format=json", "--with-system"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {normalize(p["Name"]): (p["Version"], p["License"]) for p in json.loads(out)}


def _split(expression: str, operator: str) -> list[str]:
    """`expression` split at `operator` outside parentheses."""
    parts: list[str] = []
    depth = 0
    tokens = re.split(r"(\(|\)|\s+)", expression)
    text = ""
    for token in tokens:
        depth += token == "("
        depth -= token == ")"
        if depth == 0 and token == operator:
            parts.append(text)
            text = ""
        else:
            text += token
    parts.append(text)
    return [p.strip() for p in parts]


def acceptable(package: str, expression: str) -> bool:
    """Whether an SPDX expression (or the name metadata uses) fits our LICENSE."""
    expression = expression.strip()
    # pip-licenses joins several licence classifiers with "; ": every one must fit.
    named = [c for c in expression.split("; ") if c.strip() not in NOT_LICENCES]
    if len(named) > 1:
        return all(acceptable(package, c) for c in named)
    expression = named[0].strip() if named else expression
    alternatives = _split(expression, "OR")
    if len(alternatives) > 1:
        return any(acceptable(package, a) for a in alternatives)
    required = _split(expression, "AND")
    if len(required) > 1:
        return all(acceptable(package, r) for r in required)
    if expression.startswith("(") and expression.endswith(")"):
        return acceptable(package, expression[1:-1])
    allowed = ALLOWED | SEPARATE_PROGRAM.get(package, set())
    return ALIASES.get(expression, expression) in allowed


def verdicts() -> list[tuple[str, str, str, bool]]:
    """(package, version, licence, acceptable) for every locked package."""
    found = installed_licenses()
    rows = []
    for name, version in sorted(locked_packages().items()):
        if name in OURS:
            continue
        installed_version, licence = found.get(name, (None, "NOT INSTALLED"))
        ok = installed_version == version and acceptable(name, licence)
        rows.append((name, version, licence, ok))
    return rows


def test_every_locked_dependency_has_an_acceptable_licence() -> None:
    refused = [row for row in verdicts() if not row[3]]
    assert refused == [], f"licences that do not fit LICENSE (Apache-2.0): {refused}"


@pytest.mark.parametrize(
    ("package", "expression", "ok"),
    [
        ("x", "MIT", True),
        ("x", "MIT License", True),
        ("x", "Apache-2.0 OR BSD-3-Clause", True),
        ("x", "MPL-2.0 AND (Apache-2.0 OR MIT)", True),
        ("x", "GPL-3.0-or-later", False),
        ("x", "AGPL-3.0-only", False),
        ("x", "LGPL-3.0-only", False),
        ("x", "SSPL-1.0", False),
        ("x", "UNKNOWN", False),
        ("x", "MIT AND GPL-2.0-only", False),
        ("x", "GPL-2.0-only OR MIT", True),
        ("x", "DFSG approved; MIT License", True),
        ("x", "MIT License; GNU General Public License v3 (GPLv3)", False),
        ("x", "DFSG approved", False),
        # The exception is SecantusDB's alone, and only for its own licence.
        ("x", "GPL-2.0-only AND CC-BY-4.0", False),
        ("secantusdb", "GPL-2.0-only AND CC-BY-4.0", True),
        ("secantusdb", "AGPL-3.0-only", False),
    ],
)
def test_the_policy(package: str, expression: str, ok: bool) -> None:
    assert acceptable(package, expression) is ok


def _python_files() -> list[Path]:
    skip = {".venv", "node_modules", "vendor", ".git", ".data", "build"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_the_service_never_imports_secantus() -> None:
    """The condition of SecantusDB's exception: it runs as a separate program only."""
    importers = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [str(node.args[0].value)]
            if any(n.split(".")[0] == "secantus" for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []
    assert len(_python_files()) > 20  # the scan did see the project


def main() -> int:
    rows = verdicts()
    width = max(len(r[0]) for r in rows)
    for name, version, licence, ok in rows:
        note = " (separate program, see README)" if name in SEPARATE_PROGRAM and ok else ""
        print(f"{'ok ' if ok else 'NO '} {name:<{width}} {version:<12} {licence}{note}")
    refused = [r[0] for r in rows if not r[3]]
    if refused:
        print(f"licences that do not fit LICENSE (Apache-2.0): {', '.join(refused)}")
        return 1
    print(f"{len(rows)} locked packages, every licence fits LICENSE (Apache-2.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
