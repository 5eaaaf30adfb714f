"""Hostile values for the 1.1 alias arguments: `aliases` inputs, keepSourceNamesAsAliases,
tagByName. Same harness and rules as tests/resolvers/test_fuzz.py: no internal error, no
leak, userErrors only with contract codes, nothing stored when only errors came back, and
every accepted alias obeys the name rules."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Store
from tests.resolvers.test_fuzz import (
    FUZZ_SETTINGS,
    UE,
    WS,
    Fixtures,
    Op,
    _has_cc,
    cases,
    hostile_list,
    hostile_value,
    run_case,
    type_confusion,
)

TAG = "id workspaceId name slug color textColor description category metadata depth aliases"

hostile_aliases = st.one_of(
    hostile_list,
    st.lists(hostile_value, max_size=4),
    st.just([f"alias {i}" for i in range(51)]),
    st.just(["Same", "same"]),
    st.just(["Keeper"]),
)

ALIAS_OPS: list[Op] = [
    Op(
        "createTag",
        f"mutation($input: CreateTagInput!) {{ createTag(input: $input) "
        f"{{ tag {{ {TAG} }} {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "name": f"Fuzz {c.n}",
                "aliases": [f"alias {c.n}", "other"],
                "clientMutationId": "cm",
            }
        },
        {
            ("input", "aliases"): hostile_aliases,
            ("input", "aliases", 0): hostile_value,
            ("input", "aliases", 1): hostile_value,
        },
    ),
    Op(
        "updateTag",
        f"mutation($input: UpdateTagInput!) {{ updateTag(input: $input) "
        f"{{ tag {{ {TAG} }} {UE} clientMutationId }} }}",
        lambda c: {"input": {"id": c.t1, "aliases": [f"alias {c.n}"], "clientMutationId": "cm"}},
        {("input", "aliases"): hostile_aliases, ("input", "aliases", 0): hostile_value},
    ),
    Op(
        "createTags",
        f"mutation($input: CreateTagsInput!) {{ createTags(input: $input) "
        f"{{ tags {{ {TAG} }} {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "tags": [{"name": f"Fuzz {c.n}", "aliases": ["a"]}, {"name": "b", "aliases": []}],
                "clientMutationId": "cm",
            }
        },
        {
            ("input", "tags", 0, "aliases"): hostile_aliases,
            ("input", "tags", 1, "aliases"): hostile_aliases,
            ("input", "tags", 0, "aliases", 0): hostile_value,
        },
    ),
    Op(
        "mergeTags",
        f"mutation($input: MergeTagsInput!) {{ mergeTags(input: $input) "
        f"{{ tag {{ {TAG} }} mergedTagIds movedTaggingsCount {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "targetId": c.t1,
                "sourceIds": [c.t2],
                "keepSourceNamesAsAliases": True,
                "clientMutationId": "cm",
            }
        },
        {("input", "keepSourceNamesAsAliases"): type_confusion},
    ),
    Op(
        "tagByName",
        "query($ws: ID!, $name: String!) { tagByName(workspaceId: $ws, name: $name) { id } }",
        lambda c: {"ws": WS, "name": "keeper"},
        {("ws",): hostile_value, ("name",): hostile_value},
        mutation=False,
    ),
]
OPS = {op.name: op for op in ALIAS_OPS}


FIXTURES = Fixtures()


def check_aliases(tag: dict[str, Any]) -> None:
    """Accepted aliases are normalized like names, distinct and not the name."""
    aliases = tag["aliases"]
    assert len(aliases) <= 50
    for alias in aliases:
        assert 1 <= len(alias) <= 100 and not _has_cc(alias), alias
        assert alias == " ".join(unicodedata.normalize("NFC", alias).split()), alias
    keys = [n.casefold() for n in [tag["name"], *aliases]]
    assert len(set(keys)) == len(keys), keys


@settings(FUZZ_SETTINGS, max_examples=120)
@given(case=cases([OPS[name] for name in sorted(OPS)]))
async def test_hostile_alias_arguments(client: httpx.AsyncClient, store: Store, case: Any) -> None:
    name, edits = case
    op = OPS[name]
    await run_case(client, store, FIXTURES, op, edits, "aliases")
    # Whatever was accepted is readable and obeys the rules.
    response = await client.post(
        "/graphql",
        json={"query": f'{{ tags(workspaceId: "{WS}", first: 100) {{ nodes {{ {TAG} }} }} }}'},
    )
    for tag in response.json()["data"]["tags"]["nodes"]:
        check_aliases(tag)
