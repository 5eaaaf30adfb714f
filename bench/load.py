"""Load: a second process drives a running server (what `make run` starts) on loopback.

    python -m bench.load client URL TOTAL CONCURRENCY SECONDS TAG_IDS   # the generator itself

`run_report()` starts `python server.py` with 1 and then 2 workers, each time on
a fresh store (`TAGS_MONGODB_URI` with a database of its own when set, else the
embedded store in a temporary `TAGS_DATA_DIR`), seeds and warms it, then runs
the generator in its own process, bounded in count and in time. CPU time and
RSS are read from /proc for the whole process tree, split between the service
processes and the embedded store's process. /healthz while the largest
allowed mutations run is bench/bulk.py's part.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.flows import (
    ADD_TAGS,
    CREATE_TAG,
    CREATE_TAGS,
    RESOURCE_TAGS,
    TAG_PICKER,
    TAG_TREE,
    WORKSPACE,
)
from bench.process import TreeReading, read_tree
from devtools.process import ROOT, start_server

TOTAL = 20_000
CONCURRENCY = 32
# A bound on each load run, so that a slow or busy machine still ends `make bench`:
# the embedded store answers a few dozen of these requests a second on 2 cores,
# so 20 000 requests take several minutes per run.
MAX_SECONDS = 900.0


def _seed(url: str, tagged: int = 200, roots: int = 20) -> list[str]:
    with httpx.Client(timeout=60) as http:
        created = http.post(
            url,
            json={
                "query": CREATE_TAGS,
                "variables": {
                    "ws": WORKSPACE,
                    "tags": [{"name": f"Load root {i}"} for i in range(roots)],
                },
            },
        ).json()
        root_ids = [t["id"] for t in created["data"]["createTags"]["tags"]]
        ids = list(root_ids)
        for root in root_ids:
            children = [{"name": f"{root[-6:]} child {c}", "parentId": root} for c in range(5)]
            made = http.post(
                url, json={"query": CREATE_TAGS, "variables": {"ws": WORKSPACE, "tags": children}}
            ).json()
            ids += [t["id"] for t in made["data"]["createTags"]["tags"]]
        rng = random.Random(1)
        for r in range(tagged):
            answer = http.post(
                url,
                json={
                    "query": ADD_TAGS,
                    "variables": {
                        "input": {
                            "workspaceId": WORKSPACE,
                            "resources": [{"type": "task", "id": f"L-{r}"}],
                            "tagIds": rng.sample(ids, 4),
                        }
                    },
                },
            ).json()
            if answer.get("errors") or answer["data"]["addTagsToResources"]["userErrors"]:
                raise RuntimeError(f"seeding failed: {answer}")
    return ids


def _requests(ids: list[str], n: int, seed: int) -> list[dict[str, Any]]:
    """The mix: 40% tag picker, 25% tag tree, 25% resource tags, 10% mutations."""
    rng = random.Random(seed)
    # Names and resources unique to this call: a warm-up and a measured run may
    # start within the same second, so the seed alone would repeat them (NAME_TAKEN).
    run = uuid.uuid4().hex[:10]
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.40:
            out.append(
                {
                    "query": TAG_PICKER,
                    "variables": {"ws": WORKSPACE, "q": rng.choice(["root", "child", "1", "load"])},
                }
            )
        elif roll < 0.65:
            out.append({"query": TAG_TREE, "variables": {"ws": WORKSPACE}})
        elif roll < 0.90:
            out.append(
                {"query": RESOURCE_TAGS, "variables": {"ws": WORKSPACE, "tags": rng.sample(ids, 2)}}
            )
        elif roll < 0.95:
            out.append(
                {
                    "query": CREATE_TAG,
                    "variables": {"input": {"workspaceId": "load-new", "name": f"New {run} {i}"}},
                }
            )
        else:
            out.append(
                {
                    "query": ADD_TAGS,
                    "variables": {
                        "input": {
                            "workspaceId": WORKSPACE,
                            "resources": [{"type": "note", "id": f"N-{run}-{i}"}],
                            "tagIds": [rng.choice(ids)],
                        }
                    },
                }
            )
    return out


async def _client(
    url: str, total: int, concurrency: int, seconds: float, ids: list[str]
) -> dict[str, Any]:
    """Send up to `total` requests over `concurrency` connections, for at most `seconds`."""
    bodies = _requests(ids, total, seed=int(time.time()))
    latencies: list[float] = []
    errors: list[str] = []
    next_index = 0
    deadline = time.perf_counter() + seconds

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < total and time.perf_counter() < deadline:
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                response = await http.post(url, json=body)
                answer = response.json()
                if (
                    response.status_code != 200
                    or answer.get("errors")
                    or '"userErrors":[{' in response.text
                ):
                    errors.append(response.text[:200])
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "throughput": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
        "p99_ms": cuts[98] * 1000,
        "errors": len(errors),
        "first_errors": errors[:3],
    }


@dataclass
class LoadRun:
    workers: int
    stats: dict[str, Any]
    before: TreeReading
    after: TreeReading

    def row(self) -> str:
        done = self.stats["requests"]
        service = (self.after.service_cpu - self.before.service_cpu) / done * 1000
        store = (self.after.store_cpu - self.before.store_cpu) / done * 1000
        store_cell = f"{store:.2f}" if self.after.store_rss else "– (external)"
        return (
            f"| {self.workers} | {done} in {self.stats['seconds']:.0f} s | "
            f"{self.stats['throughput']:.0f} req/s | {self.stats['p50_ms']:.0f} ms | "
            f"{self.stats['p95_ms']:.0f} ms | {self.stats['p99_ms']:.0f} ms | "
            f"{self.stats['errors']} | {service:.2f} | {store_cell} | "
            f"{self.before.rss / 2**20:.0f} → {self.after.rss / 2**20:.0f} MiB "
            f"({self.after.processes} processes; store {self.after.store_rss / 2**20:.0f} MiB) |"
        )


@contextmanager
def _server(workers: int) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`python server.py` with `workers` workers on a store of its own; stopped afterwards."""
    env = {"TAGS_LOG_LEVEL": "warning", "TAGS_WORKERS": str(workers)}
    scratch: str | None = None
    uri = os.environ.get("TAGS_MONGODB_URI")
    database = f"tags_bench_load_{uuid.uuid4().hex[:8]}"
    if uri:
        env.update(TAGS_MONGODB_URI=uri, TAGS_MONGODB_DB=database, TAGS_AUTH_MODE="dev")
    else:
        scratch = tempfile.mkdtemp(prefix="tags-bench-load-")
        env["TAGS_DATA_DIR"] = scratch
    server, base = start_server(**env)
    try:
        yield server, base
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
            client.drop_database(database)
            client.close()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


def load_run(
    workers: int,
    total: int,
    concurrency: int,
    seconds: float,
    *,
    warmup: int = 300,
    tagged: int = 200,
    roots: int = 20,
) -> LoadRun:
    with _server(workers) as (server, base):
        url = f"{base}/graphql"
        ids = _seed(url, tagged, roots)
        asyncio.run(_client(url, warmup, concurrency, seconds, ids))
        before = read_tree(server.pid)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.load",
                "client",
                url,
                str(total),
                str(concurrency),
                str(seconds),
                ",".join(ids),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=True,
        )
        after = read_tree(server.pid)
    return LoadRun(workers, json.loads(done.stdout), before, after)


def run_report(
    quick: bool = False, total: int = TOTAL, seconds: float = MAX_SECONDS
) -> tuple[list[str], dict[str, float]]:
    """Runs with 1 and 2 workers (1 only when `quick`): the report's lines and figures.

    `total` and `seconds` bound each run (the Python server's runs send fewer).
    """
    if quick:
        total, seconds, concurrency = 40, 10.0, 4
        runs = [
            load_run(w, total, concurrency, seconds, warmup=10, tagged=10, roots=4) for w in (1, 2)
        ]
    else:
        concurrency = CONCURRENCY
        runs = [load_run(w, total, concurrency, seconds) for w in (1, 2)]
    figures: dict[str, float] = {}
    for run in runs:
        done = run.stats["requests"]
        prefix = f"load {run.workers}w"
        figures[f"{prefix} throughput"] = run.stats["throughput"]
        figures[f"{prefix} p50 ms"] = run.stats["p50_ms"]
        figures[f"{prefix} p99 ms"] = run.stats["p99_ms"]
        figures[f"{prefix} errors"] = run.stats["errors"]
        figures[f"{prefix} requests"] = done
        figures[f"{prefix} service CPU ms"] = (
            (run.after.service_cpu - run.before.service_cpu) / done * 1000
        )
        figures[f"{prefix} store CPU ms"] = (
            (run.after.store_cpu - run.before.store_cpu) / done * 1000
        )
    lines = [
        f"A second process sent up to {total} requests (and for at most "
        f"{seconds:.0f} s) over {concurrency} concurrent connections to "
        "`python server.py` (what `make run` starts) on 127.0.0.1, after a seed and a warm-up; "
        " mix: 40% tag picker, 25% tag tree, 25% resource tags of 50 resources, "
        "5% createTag, 5% addTagsToResources. CPU per request is read from /proc over the "
        "measured requests for the service's processes (all workers and the supervisor) and "
        "for the store's process; RSS is summed over the whole process tree, store included.",
        "",
        "| workers | requests | throughput | p50 | p95 | p99 | errors | service CPU ms/request "
        "| store CPU ms/request | RSS before → after |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(run.row() for run in runs),
        "",
        *(
            f"- first error ({run.workers} worker(s)): `{e}`"
            for run in runs
            for e in run.stats["first_errors"]
        ),
    ]
    return lines, figures


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "client":
        _, _, target, count, parallel, limit, tag_ids = sys.argv
        figures = asyncio.run(
            _client(target, int(count), int(parallel), float(limit), tag_ids.split(","))
        )
        print(json.dumps(figures))
    else:
        print("\n".join(run_report()[0]))
