"""The scope matrix for the 1.1 alias arguments: `aliases` on createTag, createTags and
updateTag, mergeTags' keepSourceNamesAsAliases, tagNames that name an alias, and
tagByName of an alias. Same rules as tests/resolvers/test_authorization.py: an allowed
call really does its work, a refused one is FORBIDDEN and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.authorization import READ, TAGGINGS_WRITE, WRITE
from storage import Store
from tests.harness import Executor
from tests.resolvers.test_authorization import (
    GRANTS,
    TAG,
    USER_ERRORS,
    WS_A,
    Op,
    Seed,
    _field,
    _ok,
    attempt,
    seed_workspace,
)

ALIASED = f"{TAG} aliases"


def _aliases(expected: list[str]) -> Any:
    def check(value: Any, seed: Seed) -> None:
        _ok(value)
        tag = value.get("tag") or value["tags"][0]
        assert tag["aliases"] == expected

    return check


def _found_alpha(value: Any, seed: Seed) -> None:
    assert value == {"id": seed.alpha["id"], "name": "Alpha", "aliases": ["First"]}


def _added_alpha(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["addedCount"] == 1 and value["createdTags"] == []
    assert value["resources"] == [{"type": "task", "id": "9", "tags": [{"name": "Alpha"}]}]


ALIAS_OPS = [
    Op(
        "createTag(aliases)",
        WRITE,
        f'mutation($ws: ID!) {{ createTag(input: {{ workspaceId: $ws, name: "Fresh", '
        f'aliases: ["Neu", "Nouveau"] }}) {{ tag {{ {ALIASED} }} {USER_ERRORS} }} }}',
        lambda s: {"ws": WS_A},
        _aliases(["Neu", "Nouveau"]),
    ),
    Op(
        "createTags(aliases)",
        WRITE,
        f"mutation($ws: ID!) {{ createTags(input: {{ workspaceId: $ws, tags: "
        f'[{{ name: "One", aliases: ["Uno"] }}] }}) {{ tags {{ {ALIASED} }} {USER_ERRORS} }} }}',
        lambda s: {"ws": WS_A},
        _aliases(["Uno"]),
    ),
    Op(
        "updateTag(aliases)",
        WRITE,
        f'mutation($id: ID!) {{ updateTag(input: {{ id: $id, aliases: ["Zweite"] }}) '
        f"{{ tag {{ {ALIASED} }} {USER_ERRORS} }} }}",
        lambda s: {"id": s.beta["id"]},
        _aliases(["Zweite"]),
    ),
    Op(
        "mergeTags(keepSourceNamesAsAliases)",
        WRITE,
        f"mutation($t: ID!, $s: ID!) {{ mergeTags(input: {{ targetId: $t, sourceIds: [$s], "
        f"keepSourceNamesAsAliases: true }}) {{ tag {{ {ALIASED} }} {USER_ERRORS} }} }}",
        lambda s: {"t": s.alpha["id"], "s": s.beta["id"]},
        _aliases(["First", "Beta"]),
    ),
    Op(
        "addTagsToResources(tagNames: alias)",
        TAGGINGS_WRITE,
        f"mutation($ws: ID!) {{ addTagsToResources(input: {{ workspaceId: $ws, "
        f'resources: [{{ type: "task", id: "9" }}], tagNames: ["FIRST"] }}) '
        f"{{ resources {{ type id tags {{ name }} }} createdTags {{ id }} addedCount "
        f"{USER_ERRORS} }} }}",
        lambda s: {"ws": WS_A},
        _added_alpha,
    ),
    Op(
        "tagByName(alias)",
        READ,
        'query($ws: ID!) { tagByName(workspaceId: $ws, name: "first") { id name aliases } }',
        lambda s: {"ws": WS_A},
        _found_alpha,
    ),
]


@pytest.mark.parametrize("granted", GRANTS, ids=lambda g: g or "no-scope")
@pytest.mark.parametrize("op", ALIAS_OPS, ids=lambda op: op.name)
async def test_alias_scope_matrix(gql: Executor, store: Store, op: Op, granted: str | None) -> None:
    seed = await seed_workspace(gql, WS_A)
    given = await gql(
        'mutation($id: ID!) { updateTag(input: { id: $id, aliases: ["First"] }) '
        "{ userErrors { code } } }",
        {"id": seed.alpha["id"]},
    )
    assert given.ok()["updateTag"]["userErrors"] == []
    tried = await attempt(gql, store, op.query, op.variables(seed), granted, op.needs)
    field = _field(op)
    if tried.allowed:
        op.check(tried.result.ok()[field], seed)
        assert await tried.changed(store) == (field != "tagByName")
    else:
        await tried.assert_refused(store)
