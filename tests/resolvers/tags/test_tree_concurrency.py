"""The tag tree stays a tree while moves, deletes, merges and creations race.

Every request runs through the real schema on the real store; the
`interleaved` fixture (tests/resolvers/test_concurrency.py) makes every store
call yield to the event loop, so concurrent requests really interleave between
their store calls. After each round every invariant of the tree is checked on
the stored documents and through the API: each parent exists in the same
workspace (or is null), no cycle, `depth == len(ancestors)` == the depth
computed from `parentId`, `ancestors` == the computed path, depth at most 4,
nothing left flagged for removal, and usage counters equal a recount.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any

import pytest

from config.limits import MAX_TREE_DEPTH
from storage import Store, tree_locks
from storage.repair import repair
from tests.harness import Executor, GraphQLResult
from tests.helpers import ADD_TAGS, CREATE_TAG, DELETE_TAG, UPDATE_TAG, WS, create_tag
from tests.resolvers.test_concurrency import interleaved  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("interleaved", "patient")


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dozens of tree changes queue for one workspace here, on a slow shared machine:
    none may give up waiting its turn (the bound has its own tests)."""
    monkeypatch.setattr(tree_locks, "WAIT_SECONDS", 300.0)


DELETE_TAGS = """
mutation DeleteMany($input: DeleteTagsInput!) {
  deleteTags(input: $input) { deletedIds notFoundIds userErrors { code field message } }
}
"""

MERGE_TAGS = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) { mergedTagIds userErrors { code field message } }
}
"""

ALL_TAGS = """
query All($ws: ID!) {
  tags(workspaceId: $ws, first: 100) {
    pageInfo { hasNextPage }
    nodes { id depth parent { id } ancestors { id } usageCount childCount }
  }
}
"""

RESOURCES = [("task", f"t{i}") for i in range(8)] + [("file", f"f{i}") for i in range(4)]


# Checks -------------------------------------------------------------------------


async def assert_tree_is_sound(gql: Executor, store: Store, workspace: str = WS) -> None:
    """Every invariant of a workspace's tree, on the stored documents and as the API
    shows it (the tags of other workspaces are only checked not to be parents)."""
    everywhere = {d["_id"]: d for d in await store.database.tags.find({})}
    docs = {t: d for t, d in everywhere.items() if d["ws"] == workspace}
    flagged = sorted(t for t, d in docs.items() if "deleting" in d)
    assert flagged == [], f"tags left flagged for removal: {flagged}"
    for tag_id, doc in docs.items():
        path: list[str] = []
        parent = doc["parentId"]
        while parent is not None:
            assert parent in everywhere, f"{tag_id} has a missing ancestor {parent}"
            assert parent in docs, f"{tag_id} has a parent in another workspace"
            assert parent != tag_id and parent not in path, f"a cycle above {tag_id}"
            assert len(path) <= MAX_TREE_DEPTH, f"{tag_id} is deeper than {MAX_TREE_DEPTH}: {path}"
            path.insert(0, parent)
            parent = docs[parent]["parentId"]
        assert doc["ancestors"] == path, (tag_id, doc["ancestors"], path)
        assert doc["depth"] == len(path) == len(doc["ancestors"]), (tag_id, doc["depth"], path)
        assert doc["depth"] <= MAX_TREE_DEPTH, (tag_id, doc["depth"])

    rows = await store.database.taggings.find({"ws": workspace})
    assert [r for r in rows if r["tagId"] not in docs] == [], "associations of missing tags"
    counted = Counter(r["tagId"] for r in rows)
    by_type = Counter((r["tagId"], r["rtype"]) for r in rows)
    for tag_id, doc in docs.items():
        assert doc["usage"] == counted[tag_id], (tag_id, doc["usage"], counted[tag_id])
        stored = {k: v for k, v in doc["usageByType"].items() if v}
        expected = {t: n for (i, t), n in by_type.items() if i == tag_id}
        assert stored == expected, (tag_id, stored, expected)

    listed = (await gql(ALL_TAGS, {"ws": workspace})).ok()["tags"]
    assert not listed["pageInfo"]["hasNextPage"], "more than a page: the check would miss some"
    nodes = {n["id"]: n for n in listed["nodes"]}
    assert set(nodes) == set(docs)
    children = Counter(d["parentId"] for d in docs.values())
    for tag_id, node in nodes.items():
        assert [a["id"] for a in node["ancestors"]] == docs[tag_id]["ancestors"], node
        assert node["depth"] == docs[tag_id]["depth"], node
        assert (node["parent"] or {}).get("id") == docs[tag_id]["parentId"], node
        assert node["usageCount"] == counted[tag_id], node
        assert node["childCount"] == children[tag_id], node


def payload_of(result: GraphQLResult) -> dict[str, Any]:
    (payload,) = result.ok().values()  # an internal error anywhere fails the test
    return payload


def outcome(result: GraphQLResult) -> str:
    errors = payload_of(result)["userErrors"]
    return errors[0]["code"] if errors else "ok"


async def gather(calls: Sequence[Awaitable[GraphQLResult]]) -> list[GraphQLResult]:
    return list(await asyncio.gather(*calls))


async def move(gql: Executor, tag_id: str, parent_id: str | None) -> GraphQLResult:
    return await gql(UPDATE_TAG, {"input": {"id": tag_id, "parentId": parent_id}})


# The issue's case -----------------------------------------------------------------

ISSUE_ROUNDS = 6
ISSUE_MOVES = 50


async def test_concurrent_moves_of_one_tag_to_the_root_and_deep_down_keep_every_path(
    gql: Executor, store: Store
) -> None:
    """Issue 11: 50 concurrent moves of one tag (with a child), a third to the root,
    a third below a tag at depth 2 (the child lands at depth 4: allowed), a third
    below a tag at depth 3 (the child would be at depth 5: refused)."""
    refused: Counter[str] = Counter()
    for n in range(ISSUE_ROUNDS):
        ws = f"issue-11-{n}"
        spine = []
        parent: str | None = None
        for level in range(MAX_TREE_DEPTH):
            fields = {"parentId": parent} if parent else {}
            parent = (await create_tag(gql, f"Spine {level}", ws, **fields))["id"]
            spine.append(parent)
        moving = (await create_tag(gql, "Moving", ws))["id"]
        await create_tag(gql, "Child", ws, parentId=moving)
        targets = [None, spine[2], spine[3]] * (ISSUE_MOVES // 3 + 1)
        results = await gather([move(gql, moving, t) for t in targets[:ISSUE_MOVES]])
        for target, result in zip(targets, results, strict=False):
            code = outcome(result)
            if target == spine[3]:
                assert code == "DEPTH_EXCEEDED", code
            else:
                assert code == "ok", code
            refused[code] += 1
        await assert_tree_is_sound(gql, store, ws)
    assert refused["ok"] and refused["DEPTH_EXCEEDED"], refused
    assert (await repair(store)).clean


# Depth 4: just inside, and exceeding by one --------------------------------------


async def test_a_move_reaching_depth_4_passes_and_one_level_more_is_refused(
    gql: Executor, store: Store
) -> None:
    a = await create_tag(gql, "A")
    b = await create_tag(gql, "B", parentId=a["id"])
    c = await create_tag(gql, "C")
    d = await create_tag(gql, "D", parentId=c["id"])
    e = await create_tag(gql, "E", parentId=d["id"])
    x = await create_tag(gql, "X")
    # C > D > E below A > B: E lands at depth 4, just inside.
    assert outcome(await move(gql, c["id"], b["id"])) == "ok"
    depths = {n["id"]: n["depth"] for n in (await gql(ALL_TAGS, {"ws": WS})).ok()["tags"]["nodes"]}
    assert depths[e["id"]] == MAX_TREE_DEPTH
    # A below X would put E at depth 5: one too many.
    assert outcome(await move(gql, a["id"], x["id"])) == "DEPTH_EXCEEDED"
    await assert_tree_is_sound(gql, store)


PAIR_ROUNDS = 12


async def test_two_concurrent_moves_each_inside_depth_4_but_together_one_over_let_one_through(
    gql: Executor, store: Store
) -> None:
    """Alone, each move keeps the deepest tag at depth 4 at most; together they
    would put E at depth 5. Whatever the interleaving, exactly one passes."""
    winners: Counter[str] = Counter()
    for n in range(PAIR_ROUNDS):
        a = await create_tag(gql, f"A{n}")
        b = await create_tag(gql, f"B{n}", parentId=a["id"])
        c = await create_tag(gql, f"C{n}")
        d = await create_tag(gql, f"D{n}", parentId=c["id"])
        await create_tag(gql, f"E{n}", parentId=d["id"])
        x = await create_tag(gql, f"X{n}")
        pair = [move(gql, c["id"], b["id"]), move(gql, a["id"], x["id"])]
        if n % 2:
            pair.reverse()
        results = await gather(pair)
        if n % 2:
            results.reverse()
        codes = [outcome(r) for r in results]
        assert sorted(codes) == ["DEPTH_EXCEEDED", "ok"], codes
        winners["C below B" if codes[0] == "ok" else "A below X"] += 1
        await assert_tree_is_sound(gql, store)
        docs = await store.database.tags.find({"ws": WS})
        assert max(doc["depth"] for doc in docs) == MAX_TREE_DEPTH
    assert sum(winners.values()) == PAIR_ROUNDS


# A randomized mix -------------------------------------------------------------------

SEED = 20250611
ROUNDS = 15
OPERATIONS = 40
FOREST = 15


class Mix:
    """Random moves, deletes, merges and creations over a forest that is rebuilt
    to FOREST tags before each round; ids may go stale within a round on purpose."""

    def __init__(self, gql: Executor, rng: random.Random) -> None:
        self.gql = gql
        self.rng = rng
        self.created = 0
        self.outcomes: Counter[str] = Counter()

    async def replenish(self, store: Store) -> list[str]:
        docs = {d["_id"]: d for d in await store.database.tags.find({"ws": WS})}
        while len(docs) < FOREST:
            self.created += 1
            fields: dict[str, Any] = {}
            shallow = [d for d in docs.values() if d["depth"] < MAX_TREE_DEPTH]
            if shallow and self.rng.random() < 0.7:
                fields["parentId"] = self.rng.choice(shallow)["_id"]
            tag = await create_tag(self.gql, f"Tag {self.created}", **fields)
            docs[tag["id"]] = {"_id": tag["id"], "depth": tag["depth"]}
        ids = sorted(docs)
        # Some associations, so that merges move and deletes remove a few.
        for rtype, rid in self.rng.sample(RESOURCES, 4):
            variables = {
                "input": {
                    "workspaceId": WS,
                    "resources": [{"type": rtype, "id": rid}],
                    "tagIds": self.rng.sample(ids, 2),
                }
            }
            assert payload_of(await self.gql(ADD_TAGS, variables))["userErrors"] == []
        return ids

    def operation(self, ids: list[str]) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        kind = rng.choices(
            ["move", "root", "delete", "delete_subtree", "delete_many", "merge", "create"],
            weights=[14, 3, 1, 1, 1, 2, 3],
        )[0]
        if kind == "move":
            return kind, UPDATE_TAG, {"input": {"id": rng.choice(ids), "parentId": rng.choice(ids)}}
        if kind == "root":
            return kind, UPDATE_TAG, {"input": {"id": rng.choice(ids), "parentId": None}}
        if kind in ("delete", "delete_subtree"):
            variables = {"id": rng.choice(ids), "deleteDescendants": kind == "delete_subtree"}
            return kind, DELETE_TAG, {"input": variables}
        if kind == "delete_many":
            picked = rng.sample(ids, rng.randint(2, 3))
            return kind, DELETE_TAGS, {"input": {"workspaceId": WS, "ids": picked}}
        if kind == "merge":
            target, *sources = rng.sample(ids, rng.randint(2, 3))
            return kind, MERGE_TAGS, {"input": {"targetId": target, "sourceIds": sources}}
        self.created += 1
        fields = {"workspaceId": WS, "name": f"Tag {self.created}", "parentId": rng.choice(ids)}
        return kind, CREATE_TAG, {"input": fields}

    async def round(self, store: Store) -> None:
        ids = await self.replenish(store)
        ops = [self.operation(ids) for _ in range(OPERATIONS)]
        results = await gather([self.gql(query, variables) for _, query, variables in ops])
        for (kind, _, _), result in zip(ops, results, strict=True):
            self.outcomes[f"{kind}:{outcome(result)}"] += 1


async def test_random_concurrent_moves_deletes_merges_and_creations_keep_the_tree_sound(
    gql: Executor, store: Store
) -> None:
    mix = Mix(gql, random.Random(SEED))
    for _ in range(ROUNDS):
        await mix.round(store)
        await assert_tree_is_sound(gql, store)
    print(f"\noutcomes over {ROUNDS} rounds of {OPERATIONS}: {dict(sorted(mix.outcomes.items()))}")
    # Every kind did real work, and the tree's rules refused some moves.
    kinds = {key.split(":")[0] for key in mix.outcomes}
    assert all(mix.outcomes[f"{kind}:ok"] > 0 for kind in kinds), mix.outcomes
    assert len(kinds) == 7, mix.outcomes
    assert mix.outcomes["move:CYCLE"] > 0 and mix.outcomes["move:DEPTH_EXCEEDED"] > 0
    assert (await repair(store)).clean
