"""The largest bulk mutations the contract allows, and /healthz while they run.

    python -m bench.bulk            # 500 resources x 100 tags; prints the report lines
    python -m bench.bulk --quick    # 5 x 5, to check the harness

Against `python server.py` (1 worker) on a store of its own: 100 tags are
created in one `createTags`, then `addTagsToResources` applies all of them to
500 new resources (50 000 associations), `removeTagsFromResources` takes them
off again, and `deleteTags` deletes the 100 tags after they were applied once
more. While each mutation runs, another thread sends `/healthz` back to back;
its latency shows whether the event loop was ever held up.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
from typing import Any

import httpx

from bench.load import _server

WORKSPACE = "bench-bulk"
TIMEOUT_S = 600.0

CREATE = """
mutation($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id } userErrors { code message } }
}
"""
ADD = """
mutation($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount userErrors { code message } }
}
"""
REMOVE = """
mutation($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) { removedCount userErrors { code message } }
}
"""
DELETE = """
mutation($input: DeleteTagsInput!) {
  deleteTags(input: $input) { deletedCount userErrors { code message } }
}
"""


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _poll(base: str, until: threading.Thread | None, seconds: float = 0.0) -> list[float]:
    """/healthz back to back while `until` runs (or for `seconds`); each latency in seconds."""
    out: list[float] = []
    end = time.perf_counter() + seconds
    with httpx.Client(timeout=60) as http:
        while (until is not None and until.is_alive()) or (
            until is None and time.perf_counter() < end
        ):
            started = time.perf_counter()
            # A failure counts with the time it took to fail.
            with contextlib.suppress(httpx.HTTPError):
                http.get(f"{base}/healthz")
            out.append(time.perf_counter() - started)
    return out


def _measured(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Run one mutation while polling /healthz; its answer, wall time, round trips, latencies."""
    outcome: dict[str, Any] = {}

    def mutate() -> None:
        started = time.perf_counter()
        try:
            answer = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": variables},
                timeout=TIMEOUT_S,
            ).json()
            outcome["answer"] = answer
        except httpx.HTTPError as exc:
            outcome["answer"] = {"errors": [{"message": f"failed: {exc!r}"}]}
        outcome["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=mutate)
    thread.start()
    outcome["healthz"] = _poll(base, thread)
    thread.join()
    return outcome


def _describe(outcome: dict[str, Any]) -> str:
    answer = outcome["answer"]
    if answer.get("errors"):
        return "error: " + str(answer["errors"][0].get("message"))[:80]
    payload = next(iter(answer["data"].values()))
    if payload.get("userErrors"):
        return "user error: " + payload["userErrors"][0]["code"]
    counts = [
        f"{len(v) if isinstance(v, list) else v} {k.removesuffix('Count')}"
        for k, v in payload.items()
        if k != "userErrors"
    ]
    return ", ".join(counts)


def _figures(name: str, outcome: dict[str, Any]) -> dict[str, float]:
    busy = outcome["healthz"]
    return {
        f"{name} s": outcome["seconds"],
        f"{name} healthz p99 ms": _percentile(busy, 99) * 1000,
    }


def _row(name: str, size: str, outcome: dict[str, Any]) -> str:
    busy = outcome["healthz"]
    trips = ((outcome["answer"].get("extensions") or {}).get("cost") or {}).get("dbRoundTrips")
    return (
        f"| {name} | {size} | {_describe(outcome)} | {outcome['seconds']:.1f} s | {trips} | "
        f"{len(busy)} | {_percentile(busy, 50) * 1000:.1f} ms | "
        f"{_percentile(busy, 99) * 1000:.1f} ms | {max(busy, default=float('nan')) * 1000:.1f} ms |"
    )


def store_floor(resources: int, tags: int) -> tuple[float, float]:
    """Seconds a bare driver takes to insert, then delete, the same associations.

    The same documents (storage.taggings.tagging_doc) into a collection with the
    same indexes, CHUNK per call, on the store the benchmarks use: the part of
    the bulk mutations' time that is the store's own per-document index work.
    """
    from datetime import UTC, datetime

    from pymongo import MongoClient

    from devtools.store import store_uri
    from storage import query_shapes
    from storage.access import AuthorizedWorkspace
    from storage.taggings import CHUNK, resource_key, tagging_doc

    client: MongoClient[Any] = MongoClient(store_uri())
    database = client["tags_bench_floor"]
    client.drop_database(database.name)
    collection = database["taggings"]
    for index in query_shapes.indexes_of(query_shapes.TAGGINGS):
        collection.create_index(list(index.keys), **index.driver_options)
    ws, at = AuthorizedWorkspace(WORKSPACE), datetime.now(UTC)
    docs = [
        tagging_doc(ws, resource_key("task", f"BULK-{r}"), f"tag-{t}", at)
        for r in range(resources)
        for t in range(tags)
    ]
    started = time.perf_counter()
    for start in range(0, len(docs), CHUNK):
        collection.insert_many(docs[start : start + CHUNK], ordered=False)
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    collection.delete_many({"ws": WORKSPACE})
    deleted = time.perf_counter() - started
    client.drop_database(database.name)
    client.close()
    return inserted, deleted


def run_report(quick: bool = False) -> tuple[list[str], dict[str, float]]:
    resources, tags = (5, 5) if quick else (500, 100)
    refs = [{"type": "task", "id": f"BULK-{k}"} for k in range(resources)]
    size = f"{resources} × {tags}"
    with _server(1) as (_, base):
        created = _measured(
            base,
            CREATE,
            {
                "input": {
                    "workspaceId": WORKSPACE,
                    "tags": [{"name": f"bulk {i}"} for i in range(tags)],
                }
            },
        )
        ids = [t["id"] for t in created["answer"]["data"]["createTags"]["tags"]]
        idle = _poll(base, None, 2.0)
        apply = {"input": {"workspaceId": WORKSPACE, "resources": refs, "tagIds": ids}}
        added = _measured(base, ADD, apply)
        removed = _measured(base, REMOVE, apply)
        rows = [
            _row("createTags", f"{tags} tags", created),
            _row("addTagsToResources", size, added),
            _row("removeTagsFromResources", size, removed),
        ]
        figures = _figures("add", added) | _figures("remove", removed)
        for outcome in (added, removed):
            answer = outcome["answer"]
            payload = (answer.get("data") or {}) and next(iter(answer["data"].values()))
            if answer.get("errors") or not payload or payload.get("userErrors"):
                figures["bulk errors"] = figures.get("bulk errors", 0) + 1
        _measured(base, ADD, apply)
        deleted = _measured(base, DELETE, {"input": {"workspaceId": WORKSPACE, "ids": ids}})
        rows.append(_row("deleteTags (each on every resource)", f"{tags} tags", deleted))
    floor_insert, floor_delete = store_floor(resources, tags)
    figures |= {"floor insert s": floor_insert, "floor delete s": floor_delete}
    return [
        "`python server.py` (1 worker) on a store of its own; `/healthz` sent back to back "
        "from another thread while each mutation runs (idle p99 before: "
        f"{_percentile(idle, 99) * 1000:.1f} ms). Round trips are the response's "
        "`extensions.cost.dbRoundTrips`: about a thousand associations per store call.",
        "",
        "| mutation | size | outcome | wall | round trips | /healthz requests during it "
        "| p50 | p99 | max |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"The store's own floor for the same {resources * tags} associations (a bare driver, "
        "no service, nothing else running: `insert_many` of the same documents into a "
        "collection with the same indexes, 1 000 per call, then one `delete_many`): "
        f"{floor_insert:.1f} s to insert, {floor_delete:.1f} s to delete (the Python "
        "server maintains each of the collection's six indexes in Python for every "
        "document, the Rust one natively); what the mutations take beyond that is the "
        "service's reads, checks and "
        "counters, and sharing two cores with the /healthz poller.",
    ], figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bulk")
    parser.add_argument("--quick", action="store_true", help="5 resources x 5 tags")
    print("\n".join(run_report(parser.parse_args().quick)[0]))
