"""Scope matrix for the exclusive-parent inputs (1.1): `exclusive` on createTag,
createTags and updateTag needs tags:write; a replacing addTagsToResources needs
taggings:write, as any tagging. Allowed calls do their work, refused ones are
FORBIDDEN and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from resolvers.authorization import TAGGINGS_WRITE, WRITE
from storage import Store
from tests.harness import Executor
from tests.helpers import create_tag, tag_resources
from tests.resolvers.test_authorization import GRANTS, WS_A, attempt

UE = "userErrors { code field }"


@dataclass(frozen=True)
class Seed:
    group: dict[str, Any]
    low: dict[str, Any]
    high: dict[str, Any]


async def seed(gql: Executor) -> Seed:
    group = await create_tag(gql, "Priority", WS_A, exclusive=True)
    low = await create_tag(gql, "Low", WS_A, parentId=group["id"])
    high = await create_tag(gql, "High", WS_A, parentId=group["id"])
    await tag_resources(gql, [low["id"]], [("task", "1")], WS_A)
    return Seed(group, low, high)


@dataclass(frozen=True)
class Op:
    name: str
    needs: str
    query: str
    variables: Callable[[Seed], dict[str, Any]]
    expect: Callable[[dict[str, Any]], bool]


OPS = [
    Op(
        "createTag",
        WRITE,
        f"mutation($i: CreateTagInput!) {{ createTag(input: $i) {{ tag {{ exclusive }} {UE} }} }}",
        lambda s: {"i": {"workspaceId": WS_A, "name": "Stage", "exclusive": True}},
        lambda p: p["tag"] == {"exclusive": True},
    ),
    Op(
        "createTags",
        WRITE,
        f"mutation($i: CreateTagsInput!) {{ createTags(input: $i) {{ tags {{ exclusive }} {UE} }} }}",
        lambda s: {"i": {"workspaceId": WS_A, "tags": [{"name": "Size", "exclusive": True}]}},
        lambda p: p["tags"] == [{"exclusive": True}],
    ),
    Op(
        "updateTag",
        WRITE,
        f"mutation($i: UpdateTagInput!) {{ updateTag(input: $i) {{ tag {{ exclusive }} {UE} }} }}",
        lambda s: {"i": {"id": s.group["id"], "exclusive": False}},
        lambda p: p["tag"] == {"exclusive": False},
    ),
    Op(
        "addTagsToResources",
        TAGGINGS_WRITE,
        "mutation($i: AddTagsToResourcesInput!) { addTagsToResources(input: $i) "
        f"{{ addedCount replacedCount {UE} }} }}",
        lambda s: {
            "i": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "1"}],
                "tagIds": [s.high["id"]],
            }
        },
        lambda p: (p["addedCount"], p["replacedCount"]) == (1, 1),
    ),
]


@pytest.mark.parametrize("granted", GRANTS, ids=lambda g: g or "no-scope")
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
async def test_exclusive_inputs_scope_matrix(
    gql: Executor, store: Store, op: Op, granted: str | None
) -> None:
    seeded = await seed(gql)
    tried = await attempt(gql, store, op.query, op.variables(seeded), granted, op.needs)
    if tried.allowed:
        payload = tried.result.ok()[op.name]
        assert payload["userErrors"] == [], payload
        assert op.expect(payload), payload
        assert await tried.changed(store)
    else:
        await tried.assert_refused(store)
