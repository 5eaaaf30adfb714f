"""Round trips of Tag.related and tagCounts stay flat as the page of tags grows.

A naive Tag.related would cost one aggregation (and one read of the tags found)
per tag on the page; through the `related_by_tag_id` loader a page costs one
aggregation and one batched read of the related tags, whatever its size.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Executor
from tests.helpers import WS, tag_resources

CREATE_TAGS = """
mutation Batch($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id name } userErrors { code field message } }
}
"""

PAGE_WITH_RELATED = """
query Page($ws: ID!, $first: Int!) {
  tags(workspaceId: $ws, first: $first) {
    nodes { id related(first: 3) { count tag { id name usageCount } } }
  }
}
"""

FACETS = """
query Facets($ws: ID!, $ids: [ID!]!, $first: Int!) {
  taggedResources(workspaceId: $ws, tagIds: $ids, first: 5) {
    nodes { id }
    tagCounts(first: $first) { count tag { id name usageCount } }
  }
}
"""


async def seed(gql: Executor, n: int) -> list[dict[str, Any]]:
    result = await gql(
        CREATE_TAGS,
        {"input": {"workspaceId": WS, "tags": [{"name": f"t{i:03}"} for i in range(n)]}},
    )
    tags: list[dict[str, Any]] = result.ok()["createTags"]["tags"]
    # Each resource carries three neighbouring tags: every tag has related tags.
    for i in range(n):
        trio = [tags[(i + k) % n]["id"] for k in range(3)]
        await tag_resources(gql, trio, [("task", str(i))])
    return tags


@pytest.mark.parametrize("size", [5, 40])
async def test_related_costs_the_same_for_any_page_size(gql: Executor, size: int) -> None:
    await seed(gql, 40)
    result = await gql(PAGE_WITH_RELATED, {"ws": WS, "first": size})
    nodes = result.ok()["tags"]["nodes"]
    assert len(nodes) == size
    # In a ring of trios each tag shares resources with four others.
    assert all(len(n["related"]) == 3 for n in nodes)
    # The page, one aggregation for every tag's related tags, one read of those not
    # already on the page (none when the page holds every tag).
    assert result.round_trips == (3 if size < 40 else 2)


@pytest.mark.parametrize("first", [2, 19])
async def test_tag_counts_cost_the_same_for_any_number_of_tags(gql: Executor, first: int) -> None:
    tags = await seed(gql, 40)
    result = await gql(FACETS, {"ws": WS, "ids": [t["id"] for t in tags[:15]], "first": first})
    counts = result.ok()["taggedResources"]["tagCounts"]
    assert len(counts) == first  # 19: every tag the 17 matched resources carry
    # Tag lookup, the page, the counts' aggregation, one read of the counted tags.
    assert result.round_trips == 4
