"""The storage layer's place: storage/ imports nothing above it, and the driver stays inside it.

Read from the source (every import, also one inside a function or under
`if __name__ == "__main__"`), so a circle is caught before anything runs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "storage"

# The layers above storage: each is a package or top-level module of the service.
ABOVE = frozenset({"server", "cli", "edge", "demo", "schema", "resolvers", "bench", "tests"})


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def top(module: str) -> str:
    return module.partition(".")[0]


def service_sources() -> list[Path]:
    skip = {".venv", "node_modules", "vendor", ".git"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_the_helper_sees_imports_anywhere_in_a_module() -> None:
    source = STORAGE / "tags.py"
    assert "storage.collection" in imported_modules(source)
    assert top("resolvers.payloads") == "resolvers"


def test_the_layers_above_exist() -> None:
    # A renamed layer would otherwise make the check below pass vacuously.
    missing = {n for n in ABOVE if not (ROOT / n).is_dir() and not (ROOT / f"{n}.py").is_file()}
    assert not missing, missing


def test_storage_imports_nothing_above_it() -> None:
    upward = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted(STORAGE.glob("*.py"))
        for module in imported_modules(path)
        if top(module) in ABOVE
    }
    assert not upward, sorted(upward)


def test_the_async_driver_and_the_embedded_server_stay_out_of_the_service() -> None:
    motor = sorted(
        str(p.relative_to(ROOT))
        for p in service_sources()
        if any(top(m) == "motor" for m in imported_modules(p))
    )
    assert motor == ["storage/client.py"], motor
    # SecantusDB is GPL-2.0: it is run as a child process, never imported.
    secantus = sorted(
        str(p.relative_to(ROOT))
        for p in service_sources()
        if any(top(m) == "secantus" for m in imported_modules(p))
    )
    assert secantus == [], secantus
