"""Both embedded servers side by side, and issue 18's goals for the Rust server, met or not.

`make bench` measures every section once per server (bench/run.py); each section
hands back its figures by name (`"load 1w throughput"`, `"add s"`…). This module
puts the figures the goals are about in adjacent columns with their ratio, and
marks each goal MET or NOT MET with the figure it was judged by.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from storage.embedded import PYTHON, RUST

Figures = Mapping[str, float]

# (figure, what it is, unit): the side-by-side table's rows, in order.
COMPARED: tuple[tuple[str, str, str], ...] = (
    ("tag picker wall ms", "tag picker, wall per request (in-process)", "ms"),
    ("tag tree wall ms", "tag tree, wall per request", "ms"),
    ("resource tags (50) wall ms", "tags of 50 resources, wall per request", "ms"),
    ("createTag wall ms", "createTag, wall per request", "ms"),
    ("tag picker ratio", "tag picker: service CPU / (graphql-core + driver)", "×"),
    ("tag tree ratio", "tag tree: service CPU / (graphql-core + driver)", "×"),
    ("resource tags (50) ratio", "resource tags: service CPU / (graphql-core + driver)", "×"),
    ("tag picker store CPU ms", "tag picker, store process CPU per request", "ms"),
    ("page 1 wall ms", "10 000 tags: page 1, wall", "ms"),
    ("page 2 wall ms", "10 000 tags: page 2 (after a cursor), wall", "ms"),
    ("page 2 store floor ms", "10 000 tags: page 2, the store query alone", "ms"),
    ("similarTags wall ms", "similarTags at 10 000 tags, wall median (worst kind)", "ms"),
    ("load 1w throughput", "load, 1 worker: throughput", "req/s"),
    ("load 1w p99 ms", "load, 1 worker: p99", "ms"),
    ("load 1w service CPU ms", "load, 1 worker: service CPU per request", "ms"),
    ("load 1w store CPU ms", "load, 1 worker: store CPU per request", "ms"),
    ("load 2w throughput", "load, 2 workers: throughput", "req/s"),
    ("load 2w p99 ms", "load, 2 workers: p99", "ms"),
    ("add s", "500 × 100 addTagsToResources", "s"),
    ("add healthz p99 ms", "/healthz p99 meanwhile", "ms"),
    ("remove s", "500 × 100 removeTagsFromResources", "s"),
    ("remove healthz p99 ms", "/healthz p99 meanwhile", "ms"),
    ("floor insert s", "store floor: insert the same 50 000 associations", "s"),
    ("floor delete s", "store floor: delete them", "s"),
)


def _cell(figures: Figures, name: str, unit: str) -> str:
    if name not in figures:
        return "–"
    value = figures[name]
    return f"{value:.2f}{unit if unit == '×' else ''}" if value < 100 else f"{value:.0f}"


def comparison(results: Mapping[str, Figures]) -> list[str]:
    """The figures of both servers in adjacent columns, with python / rust."""
    servers = list(results)
    head = "| figure | " + " | ".join(f"`{s}`" for s in servers)
    both = RUST in results and PYTHON in results
    lines = [
        head + (" | python / rust |" if both else " |"),
        "|---|" + "---|" * (len(servers) + (1 if both else 0)),
    ]
    for name, label, unit in COMPARED:
        if not any(name in results[s] for s in servers):
            continue
        cells = [_cell(results[s], name, unit) for s in servers]
        row = f"| {label} ({unit}) | " + " | ".join(cells)
        if both:
            rust, python = results[RUST].get(name), results[PYTHON].get(name)
            ratio = f"{python / rust:.1f}×" if rust and python is not None else "–"
            row += f" | {ratio}"
        lines.append(row + " |")
    return lines


@dataclass(frozen=True)
class Goal:
    text: str
    # The figure it is judged by, as shown, and whether it is met; None: not measured.
    judge: Callable[[Figures, Figures], tuple[str, bool] | None]


def _get(figures: Figures, *names: str) -> list[float] | None:
    values = [figures.get(n) for n in names]
    return None if any(v is None for v in values) else [float(v) for v in values if v is not None]


def _load_ratio(rust: Figures, python: Figures) -> tuple[str, bool] | None:
    pairs = []
    for workers in ("1w", "2w"):
        r, p = rust.get(f"load {workers} throughput"), python.get(f"load {workers} throughput")
        if r is None or not p:
            return None
        pairs.append((workers, r / p))
    text = ", ".join(f"{w.replace('w', ' worker(s)')}: {ratio:.1f}×" for w, ratio in pairs)
    return text, all(ratio >= 3 for _, ratio in pairs)


def _workers(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    got = _get(rust, "load 1w throughput", "load 2w throughput")
    if got is None:
        return None
    one, two = got
    return f"{two:.0f} / {one:.0f} req/s = {two / one:.2f}×", two >= 1.4 * one


def _p99(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    got = _get(rust, "load 1w p99 ms")
    return None if got is None else (f"{got[0]:.0f} ms", got[0] <= 250)


def _errors(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    got = _get(rust, "load 1w errors", "load 2w errors")
    if got is None:
        return None
    errors = sum(got) + rust.get("bulk errors", 0)
    return f"{errors:.0f}", errors == 0


def _page(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    got = _get(rust, "page 1 wall ms", "page 2 wall ms")
    if got is None:
        return None
    first, after = got
    floor = rust.get("page 2 store floor ms")
    text = f"page 2 {after:.1f} ms, page 1 {first:.1f} ms ({after / first:.2f}×)"
    if floor is not None:
        text += f"; the store's own query {floor:.1f} ms"
    return text, after <= 2 * first and after <= 20


def _bulk(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    got = _get(rust, "add s", "remove s", "add healthz p99 ms", "remove healthz p99 ms")
    if got is None:
        return None
    add, remove, add_p99, remove_p99 = got
    text = (
        f"add {add:.1f} s, remove {remove:.1f} s; /healthz p99 {add_p99:.1f} / {remove_p99:.1f} ms"
    )
    floor = _get(rust, "floor insert s", "floor delete s")
    if floor is not None:
        text += f"; store floor {floor[0]:.1f} s / {floor[1]:.1f} s"
    return text, add <= 10 and remove <= 10 and max(add_p99, remove_p99) < 50


def _similar(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    got = _get(rust, "similarTags wall ms")
    return None if got is None else (f"{got[0]:.1f} ms", got[0] <= 50)


def _overhead(rust: Figures, _: Figures) -> tuple[str, bool] | None:
    names = ("tag picker", "tag tree", "resource tags (50)")
    got = _get(rust, *(f"{n} ratio" for n in names))
    if got is None:
        return None
    text = ", ".join(f"{n} {r:.2f}×" for n, r in zip(names, got, strict=True))
    return text, max(got) <= 1.2


GOALS: tuple[Goal, ...] = (
    Goal("load (same mix, 32 connections): ≥ 3× the Python server's throughput", _load_ratio),
    Goal("load: 2 workers ≥ 1.4× 1 worker", _workers),
    Goal("load: p99 ≤ 250 ms at 1 worker", _p99),
    Goal("load and bulk: 0 errors", _errors),
    Goal("a page after a cursor at 10 000 tags ≤ 2× page 1's wall, and ≤ 20 ms", _page),
    Goal(
        "500 × 100 addTagsToResources ≤ 10 s, removal ≤ 10 s, /healthz p99 < 50 ms meanwhile",
        _bulk,
    ),
    Goal("similarTags at 10 000 tags ≤ 50 ms wall median", _similar),
    Goal(
        "service CPU / (graphql-core floor + driver replay) ≤ 1.2× for the three reads", _overhead
    ),
)


def goals(results: Mapping[str, Figures]) -> list[str]:
    """Issue 18's goals for the Rust server, each MET or NOT MET with its figure."""
    rust, python = results.get(RUST, {}), results.get(PYTHON, {})
    lines = ["| goal (Rust server) | figure | |", "|---|---|---|"]
    for goal in GOALS:
        judged = goal.judge(rust, python)
        if judged is None:
            lines.append(f"| {goal.text} | not measured in this run | – |")
            continue
        text, met = judged
        lines.append(f"| {goal.text} | {text} | **{'MET' if met else 'NOT MET'}** |")
    return lines
