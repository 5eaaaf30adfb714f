"""Load: a second process drives a running server (what `make run` starts) on loopback.

    python -m bench.load client URL TOTAL CONCURRENCY   # the load generator itself

`run_report()` starts the server, seeds it, warms it up, notes its RSS, runs
the generator in its own process (bounded: TOTAL requests, then it stops),
notes the RSS again and stops the server.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
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
from bench.process import start_server

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 20_000
CONCURRENCY = 32


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _seed(url: str) -> list[str]:
    with httpx.Client(timeout=60) as http:
        roots = http.post(
            url,
            json={
                "query": CREATE_TAGS,
                "variables": {
                    "ws": WORKSPACE,
                    "tags": [{"name": f"Load root {i}"} for i in range(20)],
                },
            },
        ).json()
        root_ids = [t["id"] for t in roots["data"]["createTags"]["tags"]]
        ids = list(root_ids)
        for root in root_ids:
            children = [{"name": f"{root[-6:]} child {c}", "parentId": root} for c in range(5)]
            made = http.post(
                url, json={"query": CREATE_TAGS, "variables": {"ws": WORKSPACE, "tags": children}}
            ).json()
            ids += [t["id"] for t in made["data"]["createTags"]["tags"]]
        rng = random.Random(1)
        for r in range(200):
            http.post(
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
            )
    return ids


def _requests(ids: list[str], n: int, seed: int) -> list[dict[str, Any]]:
    """The mix: 40% tag picker, 25% tag tree, 25% resource tags, 10% mutations."""
    rng = random.Random(seed)
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
                    "variables": {"input": {"workspaceId": "load-new", "name": f"New {seed} {i}"}},
                }
            )
        else:
            out.append(
                {
                    "query": ADD_TAGS,
                    "variables": {
                        "input": {
                            "workspaceId": WORKSPACE,
                            "resources": [{"type": "note", "id": f"N-{seed}-{i}"}],
                            "tagIds": [rng.choice(ids)],
                        }
                    },
                }
            )
    return out


async def _client(url: str, total: int, concurrency: int, ids: list[str]) -> dict[str, Any]:
    bodies = _requests(ids, total, seed=int(time.time()))
    latencies: list[float] = []
    errors: list[str] = []
    next_index = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < total:
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


def run_report(total: int = TOTAL, concurrency: int = CONCURRENCY) -> list[str]:
    server, base = start_server(TAGS_LOG_LEVEL="warning")
    url = f"{base}/graphql"
    try:
        ids = _seed(url)
        asyncio.run(_client(url, 1000, concurrency, ids))  # warm-up
        rss_before = _rss_kib(server.pid)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.load",
                "client",
                url,
                str(total),
                str(concurrency),
                ",".join(ids),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
        stats = json.loads(done.stdout)
        rss_after = _rss_kib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    return [
        f"A second process sent {stats['requests']} requests over {concurrency} concurrent connections to "
        f"`python server.py` (what `make run` starts; one worker, embedded store) on 127.0.0.1; mix: "
        "40% tag picker, 25% tag tree, 25% resource tags of 50 resources, 5% createTag, 5% addTagsToResources.",
        "",
        "| throughput | p50 | p95 | p99 | errors | server RSS before → after |",
        "|---|---|---|---|---|---|",
        f"| {stats['throughput']:.0f} req/s | {stats['p50_ms']:.1f} ms | {stats['p95_ms']:.1f} ms | "
        f"{stats['p99_ms']:.1f} ms | {stats['errors']} | {rss_before / 1024:.1f} MiB → {rss_after / 1024:.1f} MiB |",
        "",
        *(f"- first error: `{e}`" for e in stats["first_errors"]),
        "Two workers need `TAGS_MONGODB_URI` (the embedded store is per process); no MongoDB server "
        "can be installed on this machine, so that run is not in this report.",
    ]


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "client":
        _, _, target, count, parallel, tag_ids = sys.argv
        print(
            json.dumps(asyncio.run(_client(target, int(count), int(parallel), tag_ids.split(","))))
        )
    else:
        print("\n".join(run_report()))
