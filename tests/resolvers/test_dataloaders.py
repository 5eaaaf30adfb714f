"""Store round trips per request (`extensions.cost.dbRoundTrips`) stay flat as pages grow.

Every nested field of a tag (parent, ancestors, children, childCount, usageCount)
goes through a per-request DataLoader, so a page of N tags costs a fixed number
of store calls whatever N is. A naive resolver, one store call per field per
tag, would need 1 + 5N calls for the `tags` query below: 1 for the page, then
per tag one each for parent, ancestors, children, childCount and usageCount
(26 calls for N=5, 501 for N=100).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from schema import TagsSchema
from tests.harness import Executor, open_test_store
from tests.helpers import WS

# One data set for the whole module (see build_forest); the tests only read it.
pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_FLAT_COST = 8

CREATE_TAGS = """
mutation Batch($input: CreateTagsInput!) {
  createTags(input: $input) {
    tags { id name depth }
    userErrors { code field message }
  }
}
"""

# Only what the builder checks: the payload's resources would cost reads.
ADD_TAGS = """
mutation Add($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) { addedCount userErrors { code field message } }
}
"""

TAGS_PAGE = """
query Page($ws: ID!, $first: Int!) {
  tags(workspaceId: $ws, first: $first) {
    nodes {
      id
      parent { name }
      ancestors { id }
      children { id }
      childCount
      usageCount
      tasks: usageCount(resourceType: "task")
    }
  }
}
"""

RESOURCE_TAGS = """
query Carried($ws: ID!, $type: String!, $id: String!) {
  resourceTags(workspaceId: $ws, resource: {type: $type, id: $id}) {
    name
    parent { name }
    usageCount
  }
}
"""

TAGGED_RESOURCES = """
query Tagged($ws: ID!, $tagIds: [ID!]!, $first: Int!) {
  taggedResources(workspaceId: $ws, tagIds: $tagIds, first: $first) {
    nodes { type id tags { name parent { name } } }
  }
}
"""


@dataclass
class Forest:
    roots: list[dict[str, Any]]
    children: list[dict[str, Any]]
    grandchildren: list[dict[str, Any]]
    # What usageCount / usageCount(resourceType: "task") must say, by tag id.
    usage: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    # The tag names each resource must carry.
    carried: defaultdict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )

    @property
    def all(self) -> list[dict[str, Any]]:
        return [*self.roots, *self.children, *self.grandchildren]

    @property
    def common(self) -> dict[str, Any]:
        """The grandchild every bulk resource carries."""
        return self.grandchildren[5]

    async def tag(
        self, gql: Executor, tags: list[dict[str, Any]], resources: list[tuple[str, str]]
    ) -> None:
        new = [(t, r) for t in tags for r in resources if t["name"] not in self.carried[r]]
        variables = {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": rtype, "id": rid} for rtype, rid in resources],
                "tagIds": [t["id"] for t in tags],
            }
        }
        payload = (await gql(ADD_TAGS, variables)).ok()["addTagsToResources"]
        assert payload == {"addedCount": len(new), "userErrors": []}, payload
        for tag, resource in new:
            self.carried[resource].add(tag["name"])
            self.usage[tag["id"]] += 1
            self.tasks[tag["id"]] += resource[0] == "task"


async def _create_batch(gql: Executor, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert 1 <= len(drafts) <= 100
    result = await gql(CREATE_TAGS, {"input": {"workspaceId": WS, "tags": drafts}})
    payload = result.ok()["createTags"]
    assert payload["userErrors"] == [], payload["userErrors"]
    assert len(payload["tags"]) == len(drafts)
    return payload["tags"]


async def build_forest(gql: Executor) -> Forest:
    """300 tags, three levels (10 roots, 90 children, 200 grandchildren), all in use.

    Names are a shuffled numbering, so any page by name mixes the three levels.
    Resources:
    - bulk-000..bulk-119 (even: task, odd: file): each carries the 5 tags of
      its group (so every tag is on one task and one file) and `common`;
    - task "many" carries 100 tags of all levels, task "few" carries 2.
    (The embedded store checks unique indexes by scanning, so inserts grow
    quadratically: the data set is built once per module and kept small.)
    """
    numbers = list(range(300))
    random.Random(7).shuffle(numbers)
    name = iter(f"Tag {n:03d}" for n in numbers)

    roots = await _create_batch(gql, [{"name": next(name)} for _ in range(10)])
    children = await _create_batch(
        gql, [{"name": next(name), "parentId": roots[i % 10]["id"]} for i in range(90)]
    )
    grandchildren: list[dict[str, Any]] = []
    for start in (0, 100):
        grandchildren += await _create_batch(
            gql,
            [
                {"name": next(name), "parentId": children[(start + i) % 90]["id"]}
                for i in range(100)
            ],
        )
    forest = Forest(roots, children, grandchildren)
    assert [t["depth"] for t in forest.all] == [0] * 10 + [1] * 90 + [2] * 200

    everything = forest.all
    for group in range(60):
        resources = [("task", f"bulk-{2 * group:03d}"), ("file", f"bulk-{2 * group + 1:03d}")]
        await forest.tag(gql, everything[group * 5 : (group + 1) * 5], resources)
    bulk = [("task" if i % 2 == 0 else "file", f"bulk-{i:03d}") for i in range(120)]
    await forest.tag(gql, [forest.common], bulk)
    # Mixed levels; none of them is `common` or on "few".
    await forest.tag(gql, [*everything[:5], *everything[10:105]], [("task", "many")])
    await forest.tag(gql, [forest.grandchildren[150], forest.grandchildren[151]], [("task", "few")])
    return forest


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def forest_gql(schema: TagsSchema) -> AsyncIterator[tuple[Forest, Executor]]:
    async with open_test_store() as store:
        gql = Executor(schema, store)
        yield await build_forest(gql), gql


async def _cost(gql: Executor, query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    result = await gql(query, variables)
    return result.round_trips, result.ok()


async def test_tags_page_costs_the_same_for_5_and_100_tags(
    forest_gql: tuple[Forest, Executor],
) -> None:
    forest, gql = forest_gql
    small, small_data = await _cost(gql, TAGS_PAGE, {"ws": WS, "first": 5})
    large, large_data = await _cost(gql, TAGS_PAGE, {"ws": WS, "first": 100})
    print(f"\ntags(first: 5): {small} round trips; tags(first: 100): {large} (naive: 26 / 501)")

    small_nodes = small_data["tags"]["nodes"]
    large_nodes = large_data["tags"]["nodes"]
    assert len(small_nodes) == 5 and len(large_nodes) == 100
    # The pages really exercised every nested field (else a flat cost proves nothing).
    assert any(n["parent"] for n in small_nodes), small_nodes
    assert sum(1 for n in large_nodes if n["parent"]) > 50
    assert sum(len(n["ancestors"]) for n in large_nodes) > 50
    assert sum(len(n["children"]) for n in large_nodes) > 10
    for node in large_nodes:
        assert node["childCount"] == len(node["children"]), node
        assert node["usageCount"] == forest.usage[node["id"]], node
        assert node["tasks"] == forest.tasks[node["id"]], node
        assert node["usageCount"] > node["tasks"] > 0, node

    assert small == large, f"tags(first: 5) cost {small} round trips, tags(first: 100) cost {large}"
    assert large <= MAX_FLAT_COST, (
        f"tags(first: 100) cost {large} round trips (limit {MAX_FLAT_COST}; naive: {1 + 5 * 100})"
    )


async def test_same_query_over_same_data_costs_the_same_twice(
    forest_gql: tuple[Forest, Executor],
) -> None:
    forest, gql = forest_gql
    queries: dict[str, tuple[str, dict[str, Any]]] = {
        "tags(first: 100)": (TAGS_PAGE, {"ws": WS, "first": 100}),
        "resourceTags(many)": (RESOURCE_TAGS, {"ws": WS, "type": "task", "id": "many"}),
        "taggedResources(first: 100)": (
            TAGGED_RESOURCES,
            {"ws": WS, "tagIds": [forest.common["id"]], "first": 100},
        ),
    }
    for label, (query, variables) in queries.items():
        first, first_data = await _cost(gql, query, variables)
        second, second_data = await _cost(gql, query, variables)
        assert first_data == second_data, label
        assert first == second > 0, f"{label} cost {first} round trips, then {second}"


async def test_resource_tags_costs_the_same_for_2_and_100_tags(
    forest_gql: tuple[Forest, Executor],
) -> None:
    forest, gql = forest_gql
    small, small_data = await _cost(gql, RESOURCE_TAGS, {"ws": WS, "type": "task", "id": "few"})
    large, large_data = await _cost(gql, RESOURCE_TAGS, {"ws": WS, "type": "task", "id": "many"})
    print(f"\nresourceTags with 2 tags: {small} round trips; with 100 tags: {large}")

    by_name = {t["name"]: t for t in forest.all}
    for data, size in ((small_data, 2), (large_data, 100)):
        carried = data["resourceTags"]
        assert len(carried) == size
        resource = ("task", "few" if size == 2 else "many")
        assert {t["name"] for t in carried} == forest.carried[resource]
        for tag in carried:
            assert tag["usageCount"] == forest.usage[by_name[tag["name"]]["id"]], tag
    assert all(t["parent"] for t in small_data["resourceTags"])
    assert sum(1 for t in large_data["resourceTags"] if t["parent"]) > 50

    assert small == large, f"resourceTags cost {small} round trips for 2 tags, {large} for 100"
    assert large <= MAX_FLAT_COST, f"resourceTags with 100 tags cost {large} round trips"


async def test_tagged_resources_costs_the_same_for_5_and_100_resources(
    forest_gql: tuple[Forest, Executor],
) -> None:
    forest, gql = forest_gql
    variables = {"ws": WS, "tagIds": [forest.common["id"]]}
    small, small_data = await _cost(gql, TAGGED_RESOURCES, {**variables, "first": 5})
    large, large_data = await _cost(gql, TAGGED_RESOURCES, {**variables, "first": 100})
    print(f"\ntaggedResources(first: 5): {small} round trips; (first: 100): {large}")

    small_nodes = small_data["taggedResources"]["nodes"]
    large_nodes = large_data["taggedResources"]["nodes"]
    assert len(small_nodes) == 5 and len(large_nodes) == 100
    assert {n["type"] for n in large_nodes} == {"task", "file"}
    for node in large_nodes:
        names = [t["name"] for t in node["tags"]]
        assert set(names) == forest.carried[(node["type"], node["id"])], node
        assert names == sorted(names) and forest.common["name"] in names, node
    assert sum(1 for n in large_nodes for t in n["tags"] if t["parent"]) > 300

    assert small == large, (
        f"taggedResources cost {small} round trips for 5 resources, {large} for 100"
    )
    assert large <= MAX_FLAT_COST, f"taggedResources(first: 100) cost {large} round trips"
