"""`python -m bench.plans`: every query shape explained on both SecantusDB servers, to bench/PLANS.md.

    python -m bench.plans            # 10 000 tags, 20 000 taggings; writes bench/PLANS.md
    python -m bench.plans --quick    # 1 000 tags, 2 000 taggings; prints the table

Seeds one workspace (plus taggings and a few API keys) on each embedded server
(`secantusd-rs`, then `secantusd-py`) in a temporary directory, creates the
service's indexes, and runs `explain` (executionStats) for one concrete query
of every shape listed in storage/query_shapes/, then the query itself a few
times for its wall time. The table sets each server's plan beside the index
mongod is expected to use; it is information, not a gate (the gates are
tests/storage/test_query_shapes.py, by MongoDB's rules, and
tests/storage/test_query_plans.py, by the Rust server's own explain).

Writes, counts and aggregates are explained (and timed) as the find of their
filter: the index choice is the same, and the Python server's explain parses
no update or delete filter.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from devtools.plans import Plan, explain
from storage import keyset, open_store
from storage.embedded import PYTHON, RUST, start_or_attach
from storage.query_shapes import SHAPES, Shape
from storage.tags import similar_keys, similar_lookup

OUT = Path(__file__).resolve().parent / "PLANS.md"
WS = "bench"
TAGS_PER_WS = 10_000
ROOTS = 100
CHILDREN_PER_ROOT = 9  # each root's children, each with 10 grandchildren (10 000 in all)
CATEGORIES = 20
CREATORS = 10
TAGGINGS = 20_000
PAGE = 21  # a page of 20 plus the one that tells whether there is a next page


def _tag(i: int, parent: dict[str, Any] | None, at: datetime, rng: random.Random) -> dict[str, Any]:
    name = f"Tag {i:05d}"
    ancestors = [*parent["ancestors"], parent["_id"]] if parent else []
    return {
        "_id": f"tag_{i:024x}",
        "ws": WS,
        "name": name,
        "nameKey": name.casefold(),
        "searchKey": name.casefold(),
        "aliases": [],
        "nameKeys": [name.casefold()],
        "searchKeys": [name.casefold()],
        "similarKeys": similar_keys([name.casefold()]),
        "slug": f"tag-{i:05d}",
        "color": "#336699",
        "category": f"cat {i % CATEGORIES}",
        "categoryKey": f"cat {i % CATEGORIES}",
        "createdBy": f"user-{i % CREATORS}",
        "parentId": parent["_id"] if parent else None,
        "ancestors": ancestors,
        "depth": len(ancestors),
        "usage": rng.randrange(0, 50),
        "usageByType": {},
        "metadata": {},
        "createdAt": at + timedelta(milliseconds=i),
        "updatedAt": at + timedelta(milliseconds=3 * i),
    }


def seed_tags(rng: random.Random, count: int = TAGS_PER_WS) -> list[dict[str, Any]]:
    at = datetime(2026, 1, 1)
    docs: list[dict[str, Any]] = []
    for _ in range(ROOTS):
        root = _tag(len(docs), None, at, rng)
        docs.append(root)
        for _ in range(CHILDREN_PER_ROOT):
            child = _tag(len(docs), root, at, rng)
            docs.append(child)
            for _ in range(10):
                if len(docs) < count:
                    docs.append(_tag(len(docs), child, at, rng))
    while len(docs) < count:
        docs.append(_tag(len(docs), None, at, rng))
    return docs[:count]


def seed_taggings(
    tags: list[dict[str, Any]], rng: random.Random, count: int = TAGGINGS
) -> list[dict[str, Any]]:
    docs = []
    for n in range(count):
        # Tag 0 is popular: a tenth of all associations.
        tag = tags[0] if n % 10 == 0 else rng.choice(tags)
        rtype = "task" if n % 3 else "file"
        rid = str(n)
        docs.append(
            {
                "ws": WS,
                "rk": f"{rtype}\x1f{rid}",
                "rtype": rtype,
                "rid": rid,
                "tagId": tag["_id"],
                "at": datetime(2026, 2, 1) + timedelta(seconds=n),
            }
        )
    return docs


def example(shape: Shape, tags: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any], int]:
    """A concrete filter, sort and limit of this shape on the seeded data."""
    root = tags[0]
    values: dict[str, Any] = {
        "ws": WS,
        "parentId": root["_id"],
        "ancestors": root["_id"],
        "depth": 0,
        "categoryKey": "cat 3",
        "createdBy": "user-2",
        "actor": "user-2",
        "_id": {"$in": [t["_id"] for t in tags[:20]]},
        "slug": "tag-00042",
        "nameKey": {"$in": ["tag 00042", "tag 00043"]},
        "nameKeys": {"$in": ["tag 00042", "tag 00043"]},
        "tagId": root["_id"],
        "rtype": "task",
        "rk": {"$in": ["task\x1f1", "task\x1f2"]},
        "slot": root["_id"],
        "archived": True,
        "similarKeys": {"$in": similar_lookup("tag 00042", 2)},
    }
    if shape.collection == "api_keys":
        values["_id"] = "key-1"
    query: dict[str, Any] = {f: values[f] for f in shape.equality}
    sort = list(shape.sort)
    limit = PAGE if sort and not shape.whole else 0
    if shape.keyset:
        middle = tags[len(tags) // 2]
        tagging_cursor = {"at": datetime(2026, 2, 1, 1), "rk": "task\x1f5000"}
        cursor = [tagging_cursor[f] if f in tagging_cursor else middle[f] for f, _ in sort]
        query = {"$and": [query, keyset.after(sort, cursor)]}
    elif "slug" in shape.ranges:
        query["slug"] = {"$regex": "^tag-0004(-[0-9]+)?$"}
    if shape.or_branches:
        query["$or"] = [{"_id": values["_id"]}, {"ancestors": {"$in": [root["_id"]]}}]
    if shape.whole and shape.residual:
        query = {"deleting": {"$exists": False}}
    return query, sort, limit


@dataclass(frozen=True, slots=True)
class Measured:
    """One shape's example on one server: its plan and the query's own wall time."""

    plan: Plan
    wall_ms: float


def _command(shape: Shape, tags: list[dict[str, Any]]) -> dict[str, Any]:
    query, sort, limit = example(shape, tags)
    command: dict[str, Any] = {"find": shape.collection, "filter": query}
    if sort:
        command["sort"] = dict(sort)
    if limit:
        command["limit"] = limit
    return command


def _wall_ms(db: Any, command: dict[str, Any], times: int = 3) -> float:
    walls = []
    for _ in range(times):
        cursor = db[command["find"]].find(command["filter"])
        if "sort" in command:
            cursor = cursor.sort(list(command["sort"].items()))
        if "limit" in command:
            cursor = cursor.limit(command["limit"])
        started = time.perf_counter()
        cursor.to_list()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) * 1000


def measure_all(uri: str, db_name: str, tags: list[dict[str, Any]]) -> dict[str, Measured]:
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    db = client[db_name]
    try:
        out = {}
        for shape in SHAPES:
            command = _command(shape, tags)
            out[shape.name] = Measured(explain(db, command), _wall_ms(db, command))
        return out
    finally:
        client.close()


def _examined(plan: Plan) -> str:
    keys = "–" if plan.keys_examined is None else str(plan.keys_examined)
    docs = "–" if plan.docs_examined is None else str(plan.docs_examined)
    return f"{keys} / {docs}"


def table(results: dict[str, dict[str, Measured]]) -> list[str]:
    """One row a shape: mongod's index, then each server's plan, examined and wall time."""
    servers = list(results)
    head = ["shape", "filter / sort", "mongod's index"]
    for server in servers:
        head += [f"{server}: plan", f"{server}: keys / docs examined", f"{server}: ms"]
    head.append("ms ratio" if len(servers) == 2 else "")
    rows = [
        "| " + " | ".join(h for h in head if h) + " |",
        "|" + "---|" * len([h for h in head if h]),
    ]
    for shape in SHAPES:
        expected = shape.index.describe() if shape.index else "—"
        if shape.or_branches:
            expected = " / ".join(f"{i.describe()}" for _, i in shape.or_branches)
        if shape.whole:
            expected += f" (whole collection: {shape.whole})"
        cells = [shape.name, _what(shape), expected]
        for server in servers:
            m = results[server][shape.name]
            cells += [m.plan.describe(), _examined(m.plan), f"{m.wall_ms:.1f}"]
        if len(servers) == 2:
            first, second = (results[s][shape.name].wall_ms for s in servers)
            cells.append(f"{second / first:.1f}×" if first > 0 else "–")
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _what(shape: Shape) -> str:
    parts = [f"{shape.command}:"]
    if shape.equality:
        parts.append("= " + ", ".join(shape.equality))
    if shape.ranges:
        parts.append("range " + ", ".join(shape.ranges))
    if shape.or_branches:
        parts.append("$or " + " \\| ".join(", ".join(f) for f, _ in shape.or_branches))
    if shape.sort:
        parts.append("sort " + ", ".join(f"{f} {d}" for f, d in shape.sort))
    return " ".join(parts)


async def _indexes(uri: str, db_name: str) -> None:
    store = open_store(uri, db_name)
    try:
        await store.ensure_indexes()
    finally:
        store.close()


def on_server(
    server_name: str, tags: list[dict[str, Any]], taggings: list[dict[str, Any]]
) -> dict[str, Measured]:
    """Every shape measured on one embedded server, started in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="tags-plans-") as scratch:
        server = start_or_attach(Path(scratch), server=server_name)
        try:
            db_name = "plans"
            client: MongoClient[dict[str, Any]] = MongoClient(server.uri)
            try:
                # Documents first, then the indexes over them: much quicker on the Python server.
                client[db_name]["tags"].insert_many(tags)
                client[db_name]["taggings"].insert_many(taggings)
                client[db_name]["api_keys"].insert_many(
                    [
                        {"_id": f"key-{i}", "name": f"k{i}", "createdAt": datetime(2026, 1, i + 1)}
                        for i in range(5)
                    ]
                )
            finally:
                client.close()
            asyncio.run(_indexes(server.uri, db_name))
            return measure_all(server.uri, db_name, tags)
        finally:
            server.stop()


def run(out: Path | None, quick: bool = False) -> list[str]:
    rng = random.Random(9)
    count = 1_000 if quick else TAGS_PER_WS
    tags = seed_tags(rng, count)
    taggings = seed_taggings(tags, rng, TAGGINGS * count // TAGS_PER_WS)
    results = {}
    for server_name in (RUST, PYTHON):
        began = time.perf_counter()
        results[server_name] = on_server(
            server_name, [dict(t) for t in tags], [dict(t) for t in taggings]
        )
        print(f"bench.plans: {server_name} server done in {time.perf_counter() - began:.0f} s")
    rows = table(results)
    header = [
        "# Query plans",
        "",
        "Generated by `python -m bench.plans`: one query of every shape in",
        "`storage/query_shapes/`, explained on both SecantusDB servers with "
        f"{len(tags):,} tags in one workspace and {len(taggings):,} taggings, then run "
        "3 times (ms: the median wall time of the query alone, through pymongo).",
        "",
        "*mongod's index* is the index that serves the shape by MongoDB's planning",
        "rules (equality prefix, then the sort keys in the same or exactly reversed",
        "directions, then ranges), checked by `tests/storage/test_query_shapes.py`: on mongod",
        "none of these needs a blocking sort or a collection scan, except the",
        "repair passes that read a whole collection by design.",
        "",
        "- `rust` (`secantusd-rs`, the default): its explain plans as mongod does,",
        "  and `tests/storage/test_query_plans.py` fails on any page it plans as a",
        "  COLLSCAN or with an in-memory sort beyond the page. Its execution is",
        "  simpler than its plan: a find collects every document within the chosen",
        "  index's bounds, sorts them and then applies the limit (its source says so:",
        '  "the storage returns the full ordered match set"), so a page costs in',
        "  proportion to the matches after its cursor, not to the page; the keys and",
        "  documents examined are the plan's, not that work.",
        "- `python` (`secantusd-py`): its planner uses an index only for a filter's",
        "  leading field, plans any top-level `$and`/`$or` (every page after a",
        "  cursor) as a collection scan, sorts in memory whenever the sort is not on",
        "  the index's first field, and counts the documents examined as the",
        "  documents matched.",
        "",
        "The multi-tag `taggedResources` aggregates (`taggings.resources*`) sort after",
        "grouping on every server, mongod too: a resource's place is its latest",
        "association with any of the tags. One tag pages through",
        "`taggings.by_tag.page` instead. Writes, counts and aggregates are explained",
        "and timed as the find of their filter, unsorted: the Rust server tries the",
        "candidate plans of an unsorted find (README, *The embedded store*), so those",
        "times are above what the service's sorted reads and `count` commands cost.",
        "",
    ]
    if out is not None:
        out.write_text("\n".join([*header, *rows, ""]), encoding="utf-8")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quick", action="store_true", help="1 000 tags; prints, writes nothing")
    args = parser.parse_args()
    rows = run(None if args.quick else args.out, args.quick)
    if args.quick:
        print("\n".join(rows))
    else:
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
