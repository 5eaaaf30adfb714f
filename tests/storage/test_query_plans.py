"""The lists on a real planner: `explain` of what the storage layer sends, on the Rust server.

tests/storage/test_query_shapes.py checks every shape by MongoDB's planning
rules; this checks what SecantusDB's Rust server (`secantusd-rs`, the default
embedded store) actually plans for them. On a workspace of 2 000 tags (a tree,
categories, creators, usage counters mostly tied at 0, createdAt tied in
batches) and a tag on 1 500 resources, it reads every order, direction and
filter of `tags`, `Tag.resources` and `taggedResources` as a client would
(a first page, the page after a cursor in the middle, the last page, the page
before that cursor), records every command the storage layer sends, and
explains each: none may be a collection scan, and no page may sort in memory
more than the page. Two exceptions, each bounded and said why: a filter of
`tags` in another order than NAME may sort the matches of its own index
(`FILTERED_ORDERS`), and the multi-tag `taggedResources` sorts its resources
after grouping them, by design (`BY_DESIGN`).

The planner is the server's: on the Python server (`TAGS_EMBEDDED_SERVER=python`,
a scan and an in-memory sort for every page after a cursor: bench/PLANS.md) and
on a MongoDB of `TAGS_MONGODB_URI` (whose planner the rules of
test_query_shapes.py stand for) these tests skip, saying so.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient, monitoring

from config.settings import embedded_server_of
from devtools.documents import tag_document
from devtools.plans import explain
from resolvers.normalization import category_key, escape_regex, search_key
from resolvers.pagination import encode_cursor
from resolvers.taggings import queries
from schema import TagsSchema
from storage import AuthorizedWorkspace, Store, open_store
from storage.embedded import RUST
from storage.query_shapes import (
    INDEXES,
    ORDERS,
    TAG_FILTERS,
    match,
    order_sort,
    signatures_of,
)
from storage.taggings import resource_key, tagging_doc
from storage.tags import TagQuery, sort_values
from tests.harness import Executor, drop_database, fresh_db_name, store_uri
from tests.helpers import WS


def _skip_reason() -> str | None:
    if os.environ.get("TAGS_MONGODB_URI"):
        return (
            "TAGS_MONGODB_URI is set: these tests check the Rust server's planner; "
            "tests/storage/test_query_shapes.py checks the shapes by mongod's rules"
        )
    if embedded_server_of(os.environ) != RUST:
        return (
            "the suite runs on the Python server, which plans every page after a cursor as a "
            "collection scan and an in-memory sort (bench/PLANS.md); these tests check the "
            "Rust server's planner"
        )
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")

PAGE = 20
ROOTS, CHILDREN, GRANDCHILDREN = 20, 9, 10  # 20 + 180 + 1 800 = 2 000 tags
WORDS = ("alpha", "beta", "gamma", "delta", "omega")
CATEGORIES = 8
CREATORS = 5
POPULAR_RESOURCES = 1_500  # above BATCHED_USAGE: Tag.resources reads pages through the index
# A page after a cursor on a key without ties reads the page, the one after it
# that tells whether there is more, and at most a few keys besides.
TIGHT = 2 * (PAGE + 1)

# A filter of `tags` in another order than NAME: the Rust planner reads the
# filter's own index (equality on two fields beats one) and sorts its matches in
# memory, where mongod's rules have the order's index serve the page and check
# the filter on the fetched tags. An index per filter and order (20 more on
# tags) gives both planners an index range, but the Rust server works out the
# order of every unsorted read over its candidate indexes: with 34 indexes
# instead of 14 those reads took 2.7 times as long (5.9 ms instead of 2.1 ms
# for a tag's children on 120 tags, 48 ms instead of 15 ms on 1 000), which
# every request pays; a filtered list in another order than NAME is rare. So
# such a page may sort the filter's matches (its index bounds them), nothing more.
FILTERED_ORDERS = {name: index.index_name for name, (_, index) in TAG_FILTERS.items()}

# The one page shape whose sort no index can give: resources of several tags
# ordered by their latest association, known only once grouped.
BY_DESIGN = {
    "taggings.resources": "several tags: resources ordered by their latest time, after grouping",
    "taggings.resources_of_type": "the same, of one resource type",
}


class Seeded:
    """The seeded workspace: its database, tags by role, and the popular tag."""

    def __init__(self, db_name: str, tags: list[dict[str, Any]], popular: str) -> None:
        self.db_name = db_name
        self.tags = tags
        self.roots = [t for t in tags if t["depth"] == 0]
        self.popular = popular


def _seed_documents(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    at = datetime(2026, 1, 1)
    tags: list[dict[str, Any]] = []

    def add(parent: dict[str, Any] | None) -> dict[str, Any]:
        i = len(tags)
        name = f"{WORDS[i % len(WORDS)]} {i:04d}"
        doc = tag_document(
            name,
            ws=WS,
            slug=f"t-{i:04d}",
            usage=0,
            # createTags stamps a batch with one time: ties of ten.
            at=at + timedelta(milliseconds=i // 10),
            parent=parent,
            category=f"Topic {i % CATEGORIES}",
            created_by=f"user-{i % CREATORS}",
        )
        doc["updatedAt"] = at + timedelta(seconds=rng.randrange(10**6))
        tags.append(doc)
        return doc

    for _ in range(ROOTS):
        root = add(None)
        for _ in range(CHILDREN):
            child = add(root)
            for _ in range(GRANDCHILDREN):
                add(child)
    ws = AuthorizedWorkspace(WS)
    taggings = []
    popular = tags[0]
    for r in range(POPULAR_RESOURCES):
        rk = resource_key("task" if r % 3 else "file", f"R-{r}")
        when = datetime(2026, 2, 1) + timedelta(seconds=r)
        taggings.append(tagging_doc(ws, rk, popular["_id"], when))
        # A third of the tags carry a few associations; the rest stay at usage 0 (ties).
        other = tags[rng.randrange(1, len(tags) // 3)]
        taggings.append(tagging_doc(ws, rk, other["_id"], when - timedelta(hours=1)))
    counts: dict[str, int] = {}
    for tagging in taggings:
        counts[tagging["tagId"]] = counts.get(tagging["tagId"], 0) + 1
    for doc in tags:
        doc["usage"] = counts.get(doc["_id"], 0)
    return tags, taggings


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    name = fresh_db_name("tags_query_plans")
    client: MongoClient[dict[str, Any]] = MongoClient(store_uri())
    try:
        db = client[name]
        tags, taggings = _seed_documents(random.Random(18))
        db["tags"].insert_many(tags)
        db["taggings"].insert_many(taggings)
        for index in INDEXES:
            db[index.collection].create_index(list(index.keys), **index.driver_options)
        # Read back: times as the store keeps them (milliseconds), for cursors.
        stored = list(db["tags"].find({"ws": WS}))
        yield Seeded(name, stored, tags[0]["_id"])
    finally:
        client.close()
        drop_database(name)


class CommandLog(monitoring.CommandListener):
    """Every find and aggregate sent to one database, as sent."""

    def __init__(self) -> None:
        self.database: str | None = None
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name != self.database or event.command_name not in (
            "find",
            "aggregate",
        ):
            return
        with self._lock:
            self.commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_LOG = CommandLog()
_registered = False


@pytest.fixture
async def explained(seeded: Seeded) -> AsyncIterator[tuple[Store, CommandLog]]:
    global _registered
    if not _registered:
        # A global listener reaches clients made afterwards; it logs nothing until armed.
        monitoring.register(_LOG)
        _registered = True
    store = open_store(store_uri(), seeded.db_name)
    _LOG.database, _LOG.commands = seeded.db_name, []
    try:
        yield store, _LOG
    finally:
        _LOG.database, _LOG.commands = None, []
        store.close()


def _limit(name: str, command: dict[str, Any]) -> int | None:
    if name == "find":
        return command.get("limit")
    limits = [stage["$limit"] for stage in command.get("pipeline", []) if "$limit" in stage]
    return limits[0] if limits else None


def _shape_name(name: str, command: dict[str, Any]) -> str | None:
    found = signatures_of(name, command)
    shape = match(found[0]) if found else None
    return shape.name if shape else None


def plan_problems(
    db: Any,
    commands: list[tuple[str, dict[str, Any]]],
    *,
    tight: bool = False,
    sorted_off: str | None = None,
) -> list[str]:
    """What is wrong with the plans of these commands (empty when nothing is).

    `sorted_off`: an index whose matches may be sorted in memory (FILTERED_ORDERS).
    """
    distinct: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, command in commands:
        key = repr(sorted((k, repr(v)) for k, v in command.items() if k not in ("lsid", "$db")))
        distinct.setdefault(key, (name, command))
    # The Rust server's explain tries every candidate plan (a few hundred ms with
    # this many indexes): two at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        plans = list(pool.map(lambda sent: explain(db, sent[1]), distinct.values()))
    problems: list[str] = []
    for (name, command), plan in zip(distinct.values(), plans, strict=True):
        shape = _shape_name(name, command)
        what = f"{shape}: {command.get('filter') or command.get('pipeline')}"
        limit = _limit(name, command)
        if plan.collscan:
            problems.append(f"COLLSCAN: {what}")
        bounded = sorted_off is not None and f"IXSCAN {sorted_off}" in plan.scans
        if plan.blocking_sort and shape not in BY_DESIGN and not bounded:
            sorted_count = plan.sorted_in_memory
            if limit is None or sorted_count is None or sorted_count > limit:
                problems.append(f"blocking sort of {sorted_count} (limit {limit}): {what}")
        if tight and limit and "sort" in command and (plan.keys_examined or 0) > TIGHT:
            problems.append(f"{plan.keys_examined} keys examined for a page of {limit}: {what}")
    return problems


def _filters(seeded: Seeded) -> dict[str, tuple[dict[str, Any], TagQuery]]:
    """Every filter of `tags`, as the client sends it and as the store receives it."""
    root = seeded.roots[1]["_id"]
    gamma = search_key("gamma")
    search = TagQuery(search_pattern=escape_regex(gamma), search_key=gamma)
    return {
        "none": ({}, TagQuery()),
        "parentId": ({"parentId": root}, TagQuery(parent_id=root)),
        "descendantOf": ({"descendantOf": root}, TagQuery(descendant_of=root)),
        "isRoot": ({"isRoot": True}, TagQuery(is_root=True)),
        "not isRoot": ({"isRoot": False}, TagQuery(is_root=False)),
        "category": ({"category": "Topic 3"}, TagQuery(category_key=category_key("Topic 3"))),
        "createdBy": ({"createdBy": "user-2"}, TagQuery(created_by="user-2")),
        "search": ({"search": "gamma"}, search),
    }


TAG_PAGE = """
query Page($ws: ID!, $filter: TagFilter, $order: TagOrder, $first: Int, $after: String,
           $last: Int, $before: String) {
  tags(workspaceId: $ws, filter: $filter, orderBy: $order, first: $first, after: $after,
       last: $last, before: $before) {
    nodes { id }
    pageInfo { hasNextPage }
  }
}
"""


def _middle_cursor(
    db: Any, query: TagQuery, order: str, descending: bool
) -> tuple[str, list[Any]] | None:
    """The cursor of the tag in the middle of the list (None: the list is empty)."""
    sort = order_sort(order, descending)
    mongo = query.mongo(AuthorizedWorkspace(WS))
    total = db["tags"].count_documents(mongo)
    if not total:
        return None
    (doc,) = db["tags"].find(mongo).sort(sort).skip(total // 2).limit(1)
    values = sort_values(doc, sort)
    return encode_cursor(order, values), values


async def _read_like_a_client(gql: Executor, base: dict[str, Any], cursor: str) -> None:
    """The first page, the page after the cursor and the page before it.

    (The last page is the first in the other direction; totalCount and the probe
    for a page on the other side are the shapes of a count and of a page.)
    """
    for window in (
        {"first": PAGE},
        {"first": PAGE, "after": cursor},
        {"last": PAGE, "before": cursor},
    ):
        (await gql(TAG_PAGE, {**base, **window})).ok()


@pytest.mark.parametrize("order", list(ORDERS))
async def test_every_tag_page_is_an_index_range(
    order: str,
    schema: TagsSchema,
    seeded: Seeded,
    explained: tuple[Store, CommandLog],
) -> None:
    store, log = explained
    gql = Executor(schema, store)
    client: MongoClient[dict[str, Any]] = MongoClient(store_uri())
    db = client[seeded.db_name]
    try:
        problems: list[str] = []
        for label, (tag_filter, query) in _filters(seeded).items():
            for descending in (False, True):
                middle = _middle_cursor(db, query, order, descending)
                assert middle is not None, label
                log.commands = []
                direction = "DESC" if descending else "ASC"
                base = {
                    "ws": WS,
                    "filter": tag_filter,
                    "order": {"field": order, "direction": direction},
                }
                await _read_like_a_client(gql, base, middle[0])
                # Ties: usage counters (most are 0) are; names, and times but for batches, not.
                tight = label == "none" and order != "USAGE_COUNT"
                sorted_off = FILTERED_ORDERS.get(label) if order != "NAME" else None
                found = plan_problems(db, log.commands, tight=tight, sorted_off=sorted_off)
                problems += [f"{order} {direction} {label}: {p}" for p in found]
        assert problems == [], "\n".join(problems)
    finally:
        client.close()


RESOURCES = """
query Resources($id: ID!, $type: String, $first: Int, $after: String, $last: Int,
                $before: String) {
  tag(id: $id) {
    resources(resourceType: $type, first: $first, after: $after, last: $last,
              before: $before) {
      nodes { id } pageInfo { hasNextPage hasPreviousPage }
    }
  }
}
"""

TAGGED = """
query Tagged($ws: ID!, $ids: [ID!]!, $match: TagMatch, $type: String, $desc: Boolean,
             $first: Int, $after: String, $last: Int, $before: String) {
  taggedResources(workspaceId: $ws, tagIds: $ids, match: $match, resourceType: $type,
                  includeDescendants: $desc, first: $first, after: $after, last: $last,
                  before: $before) {
    nodes { id } pageInfo { hasNextPage hasPreviousPage }
  }
}
"""


def _resource_cursor(db: Any, tag_id: str, rtype: str | None) -> str:
    """The cursor of the tag's resource in the middle, newest first."""
    query = {"ws": WS, "tagId": tag_id, **({"rtype": rtype} if rtype else {})}
    total = db["taggings"].count_documents(query)
    sort = [("at", -1), ("rk", 1)]
    (doc,) = db["taggings"].find(query).sort(sort).skip(total // 2).limit(1)
    return encode_cursor("RESOURCES", [doc["at"], doc["rk"]])


async def test_every_resource_page_is_an_index_range(
    schema: TagsSchema, seeded: Seeded, explained: tuple[Store, CommandLog]
) -> None:
    store, log = explained
    gql = Executor(schema, store)
    client: MongoClient[dict[str, Any]] = MongoClient(store_uri())
    db = client[seeded.db_name]
    popular = seeded.popular
    popular_doc = db["tags"].find_one({"_id": popular})
    assert popular_doc is not None and popular_doc["usage"] > queries.BATCHED_USAGE
    try:
        problems: list[str] = []
        for rtype in (None, "task"):
            cursor = _resource_cursor(db, popular, rtype)
            windows = (
                {"first": PAGE},
                {"first": PAGE, "after": cursor},
                {"last": PAGE, "before": cursor},
            )
            for window in windows:
                log.commands = []
                variables = {"id": popular, "type": rtype, **window}
                (await gql(RESOURCES, variables)).ok()
                found = plan_problems(db, log.commands, tight=True)
                problems += [f"Tag.resources {rtype} {window}: {p}" for p in found]
                # taggedResources of that one tag: the same index range.
                log.commands = []
                variables = {"ws": WS, "ids": [popular], "type": rtype, **window}
                (await gql(TAGGED, variables)).ok()
                found = plan_problems(db, log.commands, tight=True)
                problems += [f"taggedResources [tag] {rtype} {window}: {p}" for p in found]
            # Several tags (a tag and its descendants; all of two tags): grouped, BY_DESIGN.
            for many in (
                {"ids": [seeded.roots[0]["_id"]], "desc": True},
                {"ids": [popular, seeded.tags[5]["_id"]], "match": "ALL"},
            ):
                log.commands = []
                (await gql(TAGGED, {"ws": WS, "type": rtype, "first": PAGE, **many})).ok()
                found = plan_problems(db, log.commands)
                problems += [f"taggedResources {many} {rtype}: {p}" for p in found]
        assert problems == [], "\n".join(problems)
    finally:
        client.close()


async def test_the_check_finds_a_scan_and_an_in_memory_sort(
    seeded: Seeded, explained: tuple[Store, CommandLog]
) -> None:
    """What the tests above look for, shown on queries no index serves."""
    client: MongoClient[dict[str, Any]] = MongoClient(store_uri())
    db = client[seeded.db_name]
    try:
        unindexed = ("find", {"find": "tags", "filter": {"color": "#336699"}})
        unsorted = (
            "find",
            {"find": "tags", "filter": {"ws": WS}, "sort": {"color": 1}, "limit": 21},
        )
        problems = plan_problems(db, [unindexed, unsorted])
        assert [p.split(":")[0] for p in problems] == [
            "COLLSCAN",
            f"blocking sort of {len(seeded.tags)} (limit 21)",
        ]
        # A keyset page without the range on its first key (storage/keyset.py says why
        # it has one): served in index order, but read from the start of the workspace.
        by_name = sorted(seeded.tags, key=lambda d: (d["nameKey"], d["_id"]))
        middle = by_name[len(by_name) // 2]
        ties = [
            {"nameKey": {"$gt": middle["nameKey"]}},
            {"nameKey": middle["nameKey"], "_id": {"$gt": middle["_id"]}},
        ]
        unbounded = (
            "find",
            {
                "find": "tags",
                "filter": {"ws": WS, "$or": ties},
                "sort": {"nameKey": 1, "_id": 1},
                "limit": 21,
            },
        )
        (wide,) = plan_problems(db, [unbounded], tight=True)
        assert "keys examined for a page of 21" in wide
    finally:
        client.close()


SIMILAR = """
query Similar($ws: ID!, $name: String!) {
  similarTags(workspaceId: $ws, name: $name) { id }
}
"""


async def test_similar_tags_reads_only_its_candidates(
    schema: TagsSchema, seeded: Seeded, explained: tuple[Store, CommandLog]
) -> None:
    """similarTags' prefilter is point intervals of one index: the server fetches
    only the tags it returns, whether the window holds none of the workspace's
    names ("Rot", "x" * 40) or most of them ("alpha 0001")."""
    store, log = explained
    gql = Executor(schema, store)
    client: MongoClient[dict[str, Any]] = MongoClient(store_uri())
    db = client[seeded.db_name]
    try:
        for name in ("Rot", "alpha 0001", "x" * 40):
            log.commands = []
            (await gql(SIMILAR, {"ws": WS, "name": name})).ok()
            (prefilter,) = [command for _, command in log.commands if "similarKeys" in str(command)]
            plan = explain(db, prefilter)
            assert plan.scans == ("IXSCAN ws__similarKeys",), (name, plan.describe())
            assert plan.docs_examined == plan.returned, (name, plan)
        assert plan_problems(db, log.commands) == []
    finally:
        client.close()
