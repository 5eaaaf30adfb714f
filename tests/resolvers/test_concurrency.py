"""Concurrent requests: uniqueness, idempotent taggings and consistent counters.

Each call of the `gql` executor builds its own context (loaders, meter), like a
separate HTTP request. The embedded store answers synchronously, so without
help one request would run from one store call to the next without ever
letting another in; the `interleaved` fixture makes every store call yield to
the event loop (a seeded random number of times, before and after the call),
so that concurrent requests really interleave between their store calls.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from storage import Store
from storage.collection import Collection
from storage.repair import repair
from tests.harness import Executor
from tests.helpers import ADD_TAGS, CREATE_TAG, WS, create_tag

CONCURRENCY = 16

STORE_METHODS = (
    "find",
    "find_one",
    "count",
    "aggregate",
    "insert_one",
    "insert_many",
    "update_one",
    "find_one_and_update",
    "find_one_and_delete",
    "update_many",
    "delete_many",
)


@pytest.fixture
def interleaved(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every store call yields to the event loop before and after it runs.

    Returns a counter of the calls made, so a test can check that it really
    went through the patched boundary.
    """
    rng = random.Random(20240501)
    calls: Counter[str] = Counter()

    async def pause() -> None:
        for _ in range(rng.randint(1, 3)):
            await asyncio.sleep(0)

    def yielding(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def wrapper(self: Collection, *args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            await pause()
            try:
                return await method(self, *args, **kwargs)
            finally:
                await pause()

        return wrapper

    for name in STORE_METHODS:
        monkeypatch.setattr(Collection, name, yielding(name, getattr(Collection, name)))
    return calls


async def gather(calls: list[Awaitable[Any]]) -> list[Any]:
    return list(await asyncio.gather(*calls))


# Queries and mutations ------------------------------------------------------

ALL_TAGS = """
query All($ws: ID!) {
  tags(workspaceId: $ws, first: 100) {
    totalCount
    pageInfo { hasNextPage }
    nodes {
      id name slug parent { id } depth ancestors { id }
      usageCount tasks: usageCount(resourceType: "task") files: usageCount(resourceType: "file")
      notes: usageCount(resourceType: "note")
    }
  }
}
"""

USAGE = """
query Usage($id: ID!) { tag(id: $id) { usageCount tasks: usageCount(resourceType: "task") } }
"""

RESOURCE_TAGS = """
query Carried($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) { id }
}
"""

REMOVE_TAGS = """
mutation Remove($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) { removedCount userErrors { code field message } }
}
"""

SET_TAGS = """
mutation Set($input: SetResourceTagsInput!) {
  setResourceTags(input: $input) {
    addedCount removedCount userErrors { code field message }
  }
}
"""

DELETE_TAG = """
mutation Delete($input: DeleteTagInput!) {
  deleteTag(input: $input) {
    deletedTagIds removedTaggingsCount userErrors { code field message }
  }
}
"""

MERGE_TAGS = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) {
    tag { id } mergedTagIds movedTaggingsCount userErrors { code field message }
  }
}
"""


def user_errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    (payload,) = data.values()
    return payload["userErrors"]


# Uniqueness under concurrency ------------------------------------------------


async def test_concurrent_creates_with_one_name_make_one_tag(
    gql: Executor, interleaved: Counter[str]
) -> None:
    inputs = [{"workspaceId": WS, "name": "Release", "clientMutationId": str(i)} for i in range(16)]
    results = await gather([gql(CREATE_TAG, {"input": i}) for i in inputs])
    payloads = [r.ok()["createTag"] for r in results]

    created = [p["tag"] for p in payloads if p["tag"] is not None]
    refused = [p["userErrors"] for p in payloads if p["tag"] is None]
    assert len(created) == 1, created
    assert len(refused) == CONCURRENCY - 1
    for errors in refused:
        assert [(e["code"], e["field"]) for e in errors] == [("NAME_TAKEN", ["name"])], errors
    assert created[0]["slug"] == "release"

    listed = (await gql(ALL_TAGS, {"ws": WS})).ok()["tags"]
    assert listed["totalCount"] == 1
    assert [n["id"] for n in listed["nodes"]] == [created[0]["id"]]
    assert interleaved["insert_one"] >= CONCURRENCY
    assert (await repair(gql.store)).clean


SAME_SLUG_NAMES = [
    "Bug!", "Bug?", "Bug.", "Bug,", "Bug;", "Bug:", "Bug #", "(Bug)",
    "Bug!!", "Bug?!", "Bug ...", "[Bug]", "Bug*", "Bug~", "Bug^", "Bug$",
]  # fmt: skip


async def test_concurrent_creates_with_one_generated_slug_get_distinct_slugs(
    gql: Executor, interleaved: Counter[str]
) -> None:
    assert len(SAME_SLUG_NAMES) == CONCURRENCY
    results = await gather(
        [gql(CREATE_TAG, {"input": {"workspaceId": WS, "name": n}}) for n in SAME_SLUG_NAMES]
    )
    payloads = [r.ok()["createTag"] for r in results]
    assert [p["userErrors"] for p in payloads] == [[]] * CONCURRENCY, payloads
    tags = [p["tag"] for p in payloads]
    assert [t["name"] for t in tags] == SAME_SLUG_NAMES

    slugs = [t["slug"] for t in tags]
    assert len(set(slugs)) == CONCURRENCY, sorted(slugs)
    assert all(re.fullmatch(r"bug(-[0-9]+)?", s) for s in slugs), sorted(slugs)
    assert "bug" in slugs

    listed = (await gql(ALL_TAGS, {"ws": WS})).ok()["tags"]
    assert listed["totalCount"] == CONCURRENCY
    assert sorted(n["slug"] for n in listed["nodes"]) == sorted(slugs)
    assert (await repair(gql.store)).clean


async def test_concurrent_identical_taggings_make_one_association(
    gql: Executor, interleaved: Counter[str]
) -> None:
    tag = await create_tag(gql, "Urgent")
    variables = {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": "t-1"}],
            "tagIds": [tag["id"]],
        }
    }
    results = await gather([gql(ADD_TAGS, variables) for _ in range(CONCURRENCY)])
    payloads = [r.ok()["addTagsToResources"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads), payloads
    assert sum(p["addedCount"] for p in payloads) == 1, [p["addedCount"] for p in payloads]
    for p in payloads:
        assert p["resources"] == [
            {
                "type": "task",
                "id": "t-1",
                "tagCount": 1,
                "tags": [{"id": tag["id"], "name": "Urgent"}],
            }
        ]

    usage = (await gql(USAGE, {"id": tag["id"]})).ok()["tag"]
    assert usage == {"usageCount": 1, "tasks": 1}
    carried = await gql(RESOURCE_TAGS, {"ws": WS, "type": "task", "id": "t-1"})
    assert carried.ok()["resourceTags"] == [{"id": tag["id"]}]
    rows = await gql.store.database.taggings.find({})
    assert [(r["rk"], r["tagId"]) for r in rows] == [("task\x1ft-1", tag["id"])]
    assert (await repair(gql.store)).clean


# A randomized mix ------------------------------------------------------------

RESOURCES = [(("task", "file", "note")[i % 3], f"r{i:02d}") for i in range(30)]
INITIAL_TAGS = 20
OPERATIONS = 150
WAVE = 16


class Mix:
    """Random operations over a shifting set of tags; ids may be stale on purpose."""

    def __init__(self, gql: Executor, rng: random.Random, tag_ids: list[str]) -> None:
        self.gql = gql
        self.rng = rng
        self.tag_ids = tag_ids
        self.gone: list[str] = []
        self.created = 0
        self.kinds: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def _tag(self) -> str:
        # Now and then a tag known to be gone; others may vanish while a wave runs.
        if self.gone and self.rng.random() < 0.05:
            return self.rng.choice(self.gone)
        return self.rng.choice(self.tag_ids)

    def _tags(self, low: int, high: int) -> list[str]:
        return list(dict.fromkeys(self._tag() for _ in range(self.rng.randint(low, high))))

    def _resources(self, low: int, high: int) -> list[dict[str, str]]:
        picked = self.rng.sample(RESOURCES, self.rng.randint(low, high))
        return [{"type": t, "id": i} for t, i in picked]

    def operation(self) -> tuple[str, str, dict[str, Any]]:
        kind = self.rng.choices(
            ["add", "remove", "set", "delete", "merge", "create"], weights=[5, 3, 3, 1, 1, 2]
        )[0]
        self.kinds[kind] += 1
        if kind == "add":
            names = {}
            if self.rng.random() < 0.3:
                # By name, creating what is missing: several requests may race to create it.
                names = {"tagNames": [f"Auto {self.rng.randint(1, 4)}"], "createMissing": True}
            return (
                kind,
                ADD_TAGS,
                {
                    "input": {
                        "workspaceId": WS,
                        "resources": self._resources(1, 6),
                        "tagIds": self._tags(1, 3),
                        **names,
                    }
                },
            )
        if kind == "remove":
            return (
                kind,
                REMOVE_TAGS,
                {
                    "input": {
                        "workspaceId": WS,
                        "resources": self._resources(1, 6),
                        "tagIds": self._tags(1, 3),
                    }
                },
            )
        if kind == "set":
            rtype, rid = self.rng.choice(RESOURCES)
            return (
                kind,
                SET_TAGS,
                {
                    "input": {
                        "workspaceId": WS,
                        "resource": {"type": rtype, "id": rid},
                        "tagIds": self._tags(0, 4),
                    }
                },
            )
        if kind == "delete":
            return (
                kind,
                DELETE_TAG,
                {"input": {"id": self._tag(), "deleteDescendants": self.rng.random() < 0.2}},
            )
        if kind == "merge":
            target, *sources = self._tags(2, 3)
            if not sources:
                sources = [self._tag()]
            return kind, MERGE_TAGS, {"input": {"targetId": target, "sourceIds": sources}}
        self.created += 1
        fields: dict[str, Any] = {"workspaceId": WS, "name": f"New {self.created}"}
        if self.rng.random() < 0.5:
            fields["parentId"] = self._tag()
        return kind, CREATE_TAG, {"input": fields}

    async def wave(self, size: int) -> None:
        ops = [self.operation() for _ in range(size)]
        results = await gather([self.gql(query, variables) for _, query, variables in ops])
        for (kind, _, _), result in zip(ops, results, strict=True):
            data = result.ok()  # an internal fault anywhere fails the test
            errors = user_errors(data)
            self.outcomes[f"{kind}:{errors[0]['code'] if errors else 'ok'}"] += 1
            if kind == "create" and not errors:
                self.tag_ids.append(data["createTag"]["tag"]["id"])
            if kind == "add":
                self.tag_ids += [t["id"] for t in data["addTagsToResources"]["createdTags"]]
            gone = []
            if kind == "delete":
                gone = data["deleteTag"]["deletedTagIds"]
            if kind == "merge":
                gone = data["mergeTags"]["mergedTagIds"]
            for tag_id in gone:
                if tag_id in self.tag_ids:
                    self.tag_ids.remove(tag_id)
                    self.gone.append(tag_id)


async def test_concurrent_create_missing_of_one_name_shares_one_tag(
    gql: Executor, interleaved: Counter[str]
) -> None:
    def variables(n: int) -> dict[str, Any]:
        return {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": f"t-{n}"}],
                "tagNames": ["Brand New"],
                "createMissing": True,
            }
        }

    results = await gather([gql(ADD_TAGS, variables(n)) for n in range(CONCURRENCY)])
    payloads = [r.ok()["addTagsToResources"] for r in results]
    # Every request succeeds; exactly one of them created the tag, all use it.
    assert all(p["userErrors"] == [] for p in payloads), payloads
    created = [t for p in payloads for t in p["createdTags"]]
    assert len(created) == 1, created
    tag_ids = {p["resources"][0]["tags"][0]["id"] for p in payloads}
    assert tag_ids == {created[0]["id"]}
    usage = (await gql(USAGE, {"id": created[0]["id"]})).ok()["tag"]
    assert usage == {"usageCount": CONCURRENCY, "tasks": CONCURRENCY}


async def test_randomized_concurrent_mix_keeps_counters_and_references_consistent(
    gql: Executor, store: Store, interleaved: Counter[str]
) -> None:
    rng = random.Random(4242)
    tag_ids: list[str] = []
    for i in range(INITIAL_TAGS):
        parent = {"parentId": rng.choice(tag_ids)} if tag_ids and i % 3 else {}
        tag_ids.append((await create_tag(gql, f"Seed {i:02d}", **parent))["id"])
    # A starting set of associations, so removals and merges have work to do.
    for rtype, rid in RESOURCES:
        await gql(
            ADD_TAGS,
            {
                "input": {
                    "workspaceId": WS,
                    "resources": [{"type": rtype, "id": rid}],
                    "tagIds": rng.sample(tag_ids, 3),
                }
            },
        )

    mix = Mix(gql, rng, tag_ids)
    done = 0
    while done < OPERATIONS:
        size = min(WAVE, OPERATIONS - done)
        await mix.wave(size)
        done += size
    print(f"\nran {done} operations in waves of {WAVE}: {dict(mix.kinds)}")
    print(f"outcomes: {dict(sorted(mix.outcomes.items()))}")
    assert sum(mix.kinds.values()) == OPERATIONS
    assert set(mix.kinds) == {"add", "remove", "set", "delete", "merge", "create"}
    # The mix did real work of every kind, not only refusals.
    for kind in mix.kinds:
        assert mix.outcomes[f"{kind}:ok"] > 0, (kind, mix.outcomes)

    listed = (await gql(ALL_TAGS, {"ws": WS})).ok()["tags"]
    assert not listed["pageInfo"]["hasNextPage"], "more than 100 tags: the check would miss some"
    tags = {n["id"]: n for n in listed["nodes"]}
    assert listed["totalCount"] == len(tags)

    rows = await store.database.taggings.find({})
    assert rows, "the mix left no associations at all"
    # No association points at a tag that does not exist.
    dangling = [r for r in rows if r["tagId"] not in tags]
    assert dangling == [], dangling
    # Each (resource, tag) pair at most once.
    pairs = Counter((r["rk"], r["tagId"]) for r in rows)
    assert max(pairs.values()) == 1
    # Every counter equals a fresh recount from the associations.
    total = Counter(r["tagId"] for r in rows)
    by_type = Counter((r["tagId"], r["rtype"]) for r in rows)
    wrong = {
        tag_id: (n["usageCount"], n["tasks"], n["files"], n["notes"])
        for tag_id, n in tags.items()
        if (n["usageCount"], n["tasks"], n["files"], n["notes"])
        != (
            total[tag_id],
            by_type[(tag_id, "task")],
            by_type[(tag_id, "file")],
            by_type[(tag_id, "note")],
        )
    }
    assert wrong == {}, f"counters (total, task, file, note) differ from a recount: {wrong}"
    # The tree is consistent: depth and ancestors follow the parents.
    for node in tags.values():
        parent = node["parent"]
        expected = []
        if parent is not None:
            expected = [*(a["id"] for a in tags[parent["id"]]["ancestors"]), parent["id"]]
        assert [a["id"] for a in node["ancestors"]] == expected, node
        assert node["depth"] == len(expected), node

    report = await repair(store)
    assert report.clean, report
