"""The store goes away mid-load and comes back.

Concurrent clients run mixed mutations and reads through the app while the
storage boundary injects an outage (every store call waits for the store up to
the configured timeout, then fails). The scenario checks that requests fail
fast with a clear error, that /readyz reports 503 and recovers by itself, that
no acknowledged mutation is lost, and that the repair routine finds nothing to
fix once the service has completed what the outage interrupted.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from config.settings import Settings
from devtools.asgi import call
from server import create_app
from storage import open_store
from storage.repair import RepairReport, repair

WS = "faults"
CREATE = """mutation($n: String!) { createTag(input: {workspaceId: "faults", name: $n}) {
  tag { id } userErrors { code } } }"""
ADD = """mutation($r: String!, $t: [ID!]!) { addTagsToResources(input: {workspaceId: "faults",
  resources: [{type: "task", id: $r}], tagIds: $t}) { addedCount userErrors { code } } }"""
REMOVE = """mutation($r: String!, $t: [ID!]!) { removeTagsFromResources(input: {
  workspaceId: "faults", resources: [{type: "task", id: $r}], tagIds: $t}) {
  removedCount userErrors { code } } }"""
DELETE = "mutation($id: ID!) { deleteTag(input: {id: $id}) { deletedTagIds userErrors { code } } }"
READ = 'query { tags(workspaceId: "faults", first: 20) { totalCount nodes { name usageCount } } }'


@dataclass
class Outcome:
    requests: int = 0
    failed_fast: list[float] = field(default_factory=list)
    # Requests that started while the store was away: how fast they failed.
    failed_in_outage: list[float] = field(default_factory=list)
    started_in_outage: int = 0
    failed_messages: set[str] = field(default_factory=set)
    acknowledged_tags: set[str] = field(default_factory=set)
    deleted_tags: set[str] = field(default_factory=set)
    # Deletes answered with an error: the service may still complete them once the
    # store is back (the tag was flagged first), so such a tag is not lost if it goes.
    delete_failed: set[str] = field(default_factory=set)
    readiness: list[tuple[str, int]] = field(default_factory=list)
    recovered_after: float = 0.0
    pending_after: int = 0
    lost: list[str] = field(default_factory=list)
    completed_deletes: int = 0
    repair: RepairReport | None = None


async def scenario(
    uri: str, clients: int = 16, seconds: float = 6.0, timeout_ms: int = 300, seed: int = 7
) -> Outcome:
    rng = random.Random(seed)
    store = open_store(uri, f"faults_{seed}_{random.getrandbits(32):08x}", timeout_ms=timeout_ms)
    app = create_app(Settings(store_timeout_ms=timeout_ms), store=store)
    outcome = Outcome()
    outage_began: list[float] = []
    outage_ended: list[float] = []

    async def gql(query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        status, raw = await call(
            app, "POST", "/graphql", orjson.dumps({"query": query, "variables": variables})
        )
        outcome.requests += 1
        assert status == 200, raw
        return orjson.loads(raw), time.perf_counter() - started

    async def client(number: int, stop: float) -> None:
        mine: list[str] = []
        i = 0
        while time.perf_counter() < stop:
            i += 1
            choice = rng.random()
            if choice < 0.3 or not mine:
                body, took = await gql(CREATE, {"n": f"c{number}-{i}"})
                tag = (body.get("data") or {}).get("createTag") or {}
                if tag.get("tag"):
                    mine.append(tag["tag"]["id"])
                    outcome.acknowledged_tags.add(tag["tag"]["id"])
            elif choice < 0.6:
                body, took = await gql(
                    ADD, {"r": f"r{rng.randrange(40)}", "t": rng.sample(mine, min(2, len(mine)))}
                )
            elif choice < 0.75:
                body, took = await gql(
                    REMOVE, {"r": f"r{rng.randrange(40)}", "t": [rng.choice(mine)]}
                )
            elif choice < 0.82:
                victim = mine.pop(rng.randrange(len(mine)))
                body, took = await gql(DELETE, {"id": victim})
                if ((body.get("data") or {}).get("deleteTag") or {}).get("deletedTagIds"):
                    outcome.deleted_tags.add(victim)
                else:
                    outcome.delete_failed.add(victim)
            else:
                body, took = await gql(READ, {})
            started = time.perf_counter() - took
            in_outage = bool(outage_began) and started >= outage_began[0] and not outage_ended
            outcome.started_in_outage += in_outage
            if body.get("errors"):
                outcome.failed_fast.append(took)
                if in_outage:
                    outcome.failed_in_outage.append(took)
                outcome.failed_messages.add(body["errors"][0]["message"])

    async def readiness() -> str:
        status, _ = await call(app, "GET", "/readyz")
        return str(status)

    async with app.router.lifespan_context(app):
        start = time.perf_counter()
        stop = start + seconds
        load = asyncio.gather(*(client(n, stop) for n in range(clients)))
        await asyncio.sleep(seconds / 3)
        outcome.readiness.append(("before the outage", int(await readiness())))
        store.database.outage.begin()
        outage_began.append(time.perf_counter())
        await asyncio.sleep(seconds / 3)
        outcome.readiness.append(("during the outage", int(await readiness())))
        store.database.outage.end()
        ended = time.perf_counter()
        outage_ended.append(ended)
        # The service completes interrupted work by itself; wait for it, bounded.
        while store.recovery.pending and time.perf_counter() - ended < 10:
            await asyncio.sleep(0.05)
        outcome.recovered_after = time.perf_counter() - ended
        outcome.readiness.append(("after the outage", int(await readiness())))
        await load
        while store.recovery.pending and time.perf_counter() - ended < 20:
            await asyncio.sleep(0.05)
        outcome.pending_after = store.recovery.pending
        kept = {d["_id"] for d in await store.tags.all_docs({"_id": 1})}
        outcome.lost = sorted(
            outcome.acknowledged_tags - outcome.deleted_tags - outcome.delete_failed - kept
        )
        outcome.completed_deletes = len(outcome.delete_failed - kept)
        outcome.repair = await repair(store)
    store.close()
    return outcome
