"""Aliases (contract 1.1): stored like names, unique with them, found wherever a name is."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from resolvers.events.bus import LocalBus, TagEventKind, TagEventRecord
from schema import TagsSchema
from storage import Store
from storage.repair import repair
from tests.harness import Executor
from tests.helpers import ADD_TAGS, OTHER_WS, WS
from tests.resolvers.test_concurrency import interleaved  # noqa: F401  (a fixture)

CREATE = """
mutation Create($input: CreateTagInput!) {
  createTag(input: $input) {
    tag { id name aliases }
    userErrors { code field message }
  }
}
"""

CREATE_MANY = """
mutation CreateMany($input: CreateTagsInput!) {
  createTags(input: $input) {
    tags { id name aliases }
    userErrors { code field message }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateTagInput!) {
  updateTag(input: $input) {
    tag { id name aliases updatedAt }
    userErrors { code field message }
  }
}
"""

MERGE = """
mutation Merge($input: MergeTagsInput!) {
  mergeTags(input: $input) {
    tag { id name aliases usageCount }
    mergedTagIds
    userErrors { code field message }
  }
}
"""

BY_NAME = """
query ByName($ws: ID!, $name: String!) {
  tagByName(workspaceId: $ws, name: $name) { id name aliases }
}
"""

SEARCH = """
query Search($ws: ID!, $q: String!) {
  tags(workspaceId: $ws, filter: { search: $q }, first: 50) { totalCount nodes { name } }
}
"""


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def create(gql: Executor, name: str, aliases: Sequence[str] | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"workspaceId": WS, "name": name}
    if aliases is not None:
        fields["aliases"] = list(aliases)
    return (await gql(CREATE, {"input": fields})).ok()["createTag"]


async def by_name(gql: Executor, name: str, ws: str = WS) -> dict[str, Any] | None:
    return (await gql(BY_NAME, {"ws": ws, "name": name})).ok()["tagByName"]


async def update(gql: Executor, tag_id: str, **fields: Any) -> dict[str, Any]:
    return (await gql(UPDATE, {"input": {"id": tag_id, **fields}})).ok()["updateTag"]


async def merge(gql: Executor, target: str, sources: list[str], **more: Any) -> dict[str, Any]:
    variables = {"input": {"targetId": target, "sourceIds": sources, **more}}
    return (await gql(MERGE, variables)).ok()["mergeTags"]


# Stored and normalized like names ----------------------------------------------------------


async def test_aliases_are_normalized_like_names_and_kept_in_order(gql: Executor) -> None:
    payload = await create(gql, "JavaScript", ["  JS ", "Ecma\u00a0 Script", "Cafe\u0301"])
    assert payload["userErrors"] == []
    assert payload["tag"]["aliases"] == ["JS", "Ecma Script", "Caf\u00e9"]
    assert (await create(gql, "Plain"))["tag"]["aliases"] == []


async def test_alias_length_and_count_limits(gql: Executor) -> None:
    inside = await create(gql, "Long", ["x" * 100])
    assert inside["userErrors"] == []
    over = await create(gql, "Longer", ["ok", "y" * 101])
    assert errors(over) == [("VALIDATION", ["aliases", "1"])]
    empty = await create(gql, "Blank", ["   "])
    assert errors(empty) == [("VALIDATION", ["aliases", "0"])]
    fifty = await create(gql, "Fifty", [f"fifty {i}" for i in range(50)])
    assert len(fifty["tag"]["aliases"]) == 50
    too_many = await create(gql, "Fifty-one", [f"fifty-one {i}" for i in range(51)])
    assert errors(too_many) == [("VALIDATION", ["aliases"])]
    control = await create(gql, "Control", ["bad\nalias"])
    assert errors(control) == [("VALIDATION", ["aliases", "0"])]


async def test_a_repeated_alias_or_one_equal_to_the_name_is_validation(gql: Executor) -> None:
    repeated = await create(gql, "Repeats", ["Dup", "other", "DUP"])
    assert errors(repeated) == [("VALIDATION", ["aliases", "2"])]
    own = await create(gql, "Own Name", ["own NAME"])
    assert errors(own) == [("VALIDATION", ["aliases", "0"])]
    assert await by_name(gql, "Own Name") is None


# Unique together with names ----------------------------------------------------------------


async def test_names_and_aliases_are_unique_together(gql: Executor) -> None:
    first = await create(gql, "JavaScript", ["JS", "ECMAScript"])
    assert first["userErrors"] == []
    assert errors(await create(gql, "js")) == [("NAME_TAKEN", ["name"])]
    assert errors(await create(gql, "Other", ["x", "javascript"])) == [
        ("NAME_TAKEN", ["aliases", "1"])
    ]
    assert errors(await create(gql, "Another", ["ecmascript"])) == [
        ("NAME_TAKEN", ["aliases", "0"])
    ]
    # Another workspace is another namespace.
    other = await gql(CREATE, {"input": {"workspaceId": OTHER_WS, "name": "JS"}})
    assert other.ok()["createTag"]["userErrors"] == []


async def test_create_tags_reports_every_clash_at_its_alias(gql: Executor) -> None:
    await create(gql, "Existing", ["Old"])
    result = await gql(
        CREATE_MANY,
        {
            "input": {
                "workspaceId": WS,
                "tags": [
                    {"name": "First", "aliases": ["Uno"]},
                    {"name": "Second", "aliases": ["Dos", "first"]},
                    {"name": "uno"},
                    {"name": "Third", "aliases": ["old"]},
                ],
            }
        },
    )
    payload = result.ok()["createTags"]
    assert errors(payload) == [
        ("NAME_TAKEN", ["tags", "1", "aliases", "1"]),
        ("NAME_TAKEN", ["tags", "2", "name"]),
        ("NAME_TAKEN", ["tags", "3", "aliases", "0"]),
    ]
    assert payload["tags"] == []
    assert await by_name(gql, "First") is None


async def test_create_tags_with_aliases(gql: Executor) -> None:
    result = await gql(
        CREATE_MANY,
        {
            "input": {
                "workspaceId": WS,
                "tags": [{"name": "Python", "aliases": ["py"]}, {"name": "Rust"}],
            }
        },
    )
    payload = result.ok()["createTags"]
    assert [(t["name"], t["aliases"]) for t in payload["tags"]] == [
        ("Python", ["py"]),
        ("Rust", []),
    ]
    found = await by_name(gql, "PY")
    assert found is not None and found["name"] == "Python"


# updateTag ------------------------------------------------------------------------------


async def test_update_replaces_and_clears_the_list(gql: Executor) -> None:
    tag = (await create(gql, "Go", ["golang"]))["tag"]
    replaced = await update(gql, tag["id"], aliases=["Go lang", "gopher"])
    assert replaced["tag"]["aliases"] == ["Go lang", "gopher"]
    assert await by_name(gql, "golang") is None
    assert (await by_name(gql, "GOPHER") or {}).get("id") == tag["id"]
    assert (await update(gql, tag["id"], aliases=[]))["tag"]["aliases"] == []
    await update(gql, tag["id"], aliases=["again"])
    assert (await update(gql, tag["id"], aliases=None))["tag"]["aliases"] == []
    assert await by_name(gql, "again") is None


async def test_update_reports_the_alias_another_tag_holds(gql: Executor) -> None:
    await create(gql, "Kotlin", ["kt"])
    tag = (await create(gql, "Java"))["tag"]
    clash = await update(gql, tag["id"], aliases=["jvm", "KT"])
    assert errors(clash) == [("NAME_TAKEN", ["aliases", "1"])]
    assert errors(await update(gql, tag["id"], name="kt")) == [("NAME_TAKEN", ["name"])]
    assert errors(await update(gql, tag["id"], aliases=["java"])) == [
        ("VALIDATION", ["aliases", "0"])
    ]
    assert errors(await update(gql, tag["id"], name="Jvm", aliases=["JVM"])) == [
        ("VALIDATION", ["aliases", "0"])
    ]
    unchanged = await by_name(gql, "Java")
    assert unchanged is not None and unchanged["aliases"] == []


async def test_renaming_a_tag_to_its_own_alias_makes_the_alias_its_name(gql: Executor) -> None:
    tag = (await create(gql, "JavaScript", ["JS", "ECMAScript"]))["tag"]
    renamed = await update(gql, tag["id"], name="js")
    assert renamed["userErrors"] == []
    assert renamed["tag"]["name"] == "js"
    assert renamed["tag"]["aliases"] == ["ECMAScript"]
    # The old name is free again.
    assert (await create(gql, "JavaScript"))["userErrors"] == []


class RecordingBus(LocalBus):
    """Keeps what a mutation publishes."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[TagEventRecord] = []

    async def publish(self, events: Sequence[TagEventRecord]) -> None:
        self.published.extend(events)
        await super().publish(events)


async def test_an_alias_change_publishes_updated(
    gql: Executor, schema: TagsSchema, store: Store
) -> None:
    tag = (await create(gql, "Events"))["tag"]
    bus = RecordingBus()
    context = make_context(None, DEV_PRINCIPAL, store, bus=bus)
    result = await schema.execute(
        UPDATE,
        variable_values={"input": {"id": tag["id"], "aliases": ["ev"]}},
        context_value=context,
    )
    assert result.errors is None
    assert [(e.kind, e.tag_id) for e in bus.published] == [(TagEventKind.UPDATED, tag["id"])]


# Look-ups by name ------------------------------------------------------------------------


async def test_tag_by_name_finds_names_and_aliases_after_normalization(gql: Executor) -> None:
    tag = (await create(gql, "Café au lait", ["Latte  Macchiato"]))["tag"]
    for asked in ("café au lait", "  CAFÉ   AU LAIT ", "Cafe\u0301 au lait", "latte macchiato"):
        found = await by_name(gql, asked)
        assert found is not None and found["id"] == tag["id"], asked
    # Equal means equal, not similar: accents count, substrings do not.
    assert await by_name(gql, "Cafe au lait") is None
    assert await by_name(gql, "Latte") is None
    # Names no tag can have, and other workspaces, find nothing.
    assert await by_name(gql, "") is None
    assert await by_name(gql, "x" * 101) is None
    assert await by_name(gql, "latte\nmacchiato") is None
    assert await by_name(gql, "Latte Macchiato", ws=OTHER_WS) is None


async def test_tag_by_name_does_not_find_a_deleted_tag(gql: Executor) -> None:
    tag = (await create(gql, "Gone", ["went"]))["tag"]
    deleted = await gql(
        "mutation($input: DeleteTagInput!) { deleteTag(input: $input) { deletedTagIds } }",
        {"input": {"id": tag["id"]}},
    )
    assert deleted.ok()["deleteTag"]["deletedTagIds"] == [tag["id"]]
    assert await by_name(gql, "went") is None
    assert (await create(gql, "Went"))["userErrors"] == []


async def test_search_matches_aliases_and_lists_a_tag_once(gql: Executor) -> None:
    await create(gql, "JavaScript", ["JS", "Java Script", "ECMAScript"])
    await create(gql, "Typescript")
    await create(gql, "Rust", ["Rustlang"])
    found = (await gql(SEARCH, {"ws": WS, "q": "script"})).ok()["tags"]
    assert found == {"totalCount": 2, "nodes": [{"name": "JavaScript"}, {"name": "Typescript"}]}
    by_alias = (await gql(SEARCH, {"ws": WS, "q": "LANG"})).ok()["tags"]
    assert by_alias == {"totalCount": 1, "nodes": [{"name": "Rust"}]}
    # Accents and case are folded in aliases as in names.
    await create(gql, "Coffee", ["Café crème"])
    folded = (await gql(SEARCH, {"ws": WS, "q": "cafe CR"})).ok()["tags"]
    assert folded["nodes"] == [{"name": "Coffee"}]


async def test_a_search_too_long_for_a_regex_still_matches_aliases(gql: Executor) -> None:
    # One presentation form folds into 18 characters: 100 of them are beyond any regex limit.
    ligature = "\ufdfa"
    await create(gql, "Long form", [ligature * 100])
    found = (await gql(SEARCH, {"ws": WS, "q": ligature * 60})).ok()["tags"]
    assert found["nodes"] == [{"name": "Long form"}]


async def test_tag_names_match_aliases_and_create_missing_never_duplicates_one(
    gql: Executor,
) -> None:
    tag = (await create(gql, "Bug", ["Defect"]))["tag"]
    result = await gql(
        ADD_TAGS,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "T-1"}],
                "tagNames": ["defect", "New one"],
                "createMissing": True,
            }
        },
    )
    payload = result.ok()["addTagsToResources"]
    assert payload["userErrors"] == []
    assert [t["name"] for t in payload["createdTags"]] == ["New one"]
    assert sorted(t["name"] for t in payload["resources"][0]["tags"]) == ["Bug", "New one"]
    assert payload["resources"][0]["tags"][0]["id"] == tag["id"]
    # Without createMissing, an alias is found too.
    plain = await gql(
        ADD_TAGS,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "T-2"}],
                "tagNames": ["DEFECT"],
            }
        },
    )
    assert plain.ok()["addTagsToResources"]["resources"][0]["tags"] == [
        {"id": tag["id"], "name": "Bug"}
    ]


# mergeTags ---------------------------------------------------------------------------------


async def test_merge_keeps_the_sources_names_as_aliases_by_default(gql: Executor) -> None:
    target = (await create(gql, "JavaScript"))["tag"]
    source = (await create(gql, "JS", ["ecma"]))["tag"]
    other = (await create(gql, "ES"))["tag"]
    merged = await merge(gql, target["id"], [source["id"]])
    assert merged["userErrors"] == [] and merged["mergedTagIds"] == [source["id"]]
    assert merged["tag"]["aliases"] == ["JS", "ecma"]
    found = await by_name(gql, "js")
    assert found is not None and found["id"] == target["id"]
    # Null is the default too.
    again = await merge(gql, target["id"], [other["id"]], keepSourceNamesAsAliases=None)
    assert again["tag"]["aliases"] == ["JS", "ecma", "ES"]
    assert (await repair(gql.store)).clean


async def test_merge_adopts_names_in_source_order_dropping_the_targets_own(
    gql: Executor,
) -> None:
    target = (await create(gql, "JavaScript", ["JS"]))["tag"]
    one = (await create(gql, "JavaScript Lang", ["ecma"]))["tag"]
    two = (await create(gql, "Js Script", ["es6"]))["tag"]
    await update(gql, target["id"], aliases=["JS", "Java Script"])
    merged = await merge(gql, target["id"], [two["id"], one["id"]])
    assert merged["userErrors"] == []
    assert merged["tag"]["aliases"] == [
        "JS",
        "Java Script",
        "Js Script",
        "es6",
        "JavaScript Lang",
        "ecma",
    ]
    for old in ("js script", "ES6", "javascript lang", "Ecma"):
        found = await by_name(gql, old)
        assert found is not None and found["id"] == target["id"], old


async def test_merge_without_keeping_names_frees_them(gql: Executor) -> None:
    target = (await create(gql, "Target"))["tag"]
    source = (await create(gql, "Source", ["src"]))["tag"]
    merged = await merge(gql, target["id"], [source["id"]], keepSourceNamesAsAliases=False)
    assert merged["userErrors"] == [] and merged["tag"]["aliases"] == []
    assert await by_name(gql, "Source") is None
    assert (await create(gql, "src"))["userErrors"] == []


async def test_merge_beyond_fifty_aliases_is_limit_exceeded(gql: Executor) -> None:
    target = (await create(gql, "Target", [f"t{i}" for i in range(44)]))["tag"]
    fits = (await create(gql, "Fits", [f"f{i}" for i in range(5)]))["tag"]
    merged = await merge(gql, target["id"], [fits["id"]])
    assert merged["userErrors"] == [] and len(merged["tag"]["aliases"]) == 50
    extra = (await create(gql, "Extra"))["tag"]
    refused = await merge(gql, target["id"], [extra["id"]])
    assert errors(refused) == [("LIMIT_EXCEEDED", ["keepSourceNamesAsAliases"])]
    assert (await by_name(gql, "Extra") or {}).get("id") == extra["id"]
    # Without keeping names the same merge goes through.
    plain = await merge(gql, target["id"], [extra["id"]], keepSourceNamesAsAliases=False)
    assert plain["userErrors"] == [] and len(plain["tag"]["aliases"]) == 50
    assert (await repair(gql.store)).clean


# Concurrency ---------------------------------------------------------------------------------

CONCURRENCY = 16


@pytest.mark.usefixtures("interleaved")
async def test_concurrent_creators_of_one_name_as_name_or_alias_one_wins(gql: Executor) -> None:
    await create(gql, "Holder", ["Shared Alias"])

    async def attempt(i: int) -> dict[str, Any]:
        # Half ask for it as a name, half as an alias: the same key either way.
        if i % 2:
            return await create(gql, f"Taker {i}", ["Contested"])
        return await create(gql, "contested")

    for _round in range(3):
        results = await asyncio.gather(*(attempt(i) for i in range(CONCURRENCY)))
        winners = [r for r in results if not r["userErrors"]]
        assert len(winners) == 1, [r["userErrors"] for r in results]
        losers = Counter((e["code"], tuple(e["field"])) for r in results for e in r["userErrors"])
        assert sum(losers.values()) == CONCURRENCY - 1
        assert set(losers) <= {("NAME_TAKEN", ("name",)), ("NAME_TAKEN", ("aliases", "0"))}
        found = await by_name(gql, "CONTESTED")
        assert found is not None and found["id"] == winners[0]["tag"]["id"]
        deleted = await gql(
            "mutation($input: DeleteTagInput!) { deleteTag(input: $input) { deletedTagIds } }",
            {"input": {"id": found["id"]}},
        )
        assert deleted.ok()["deleteTag"]["deletedTagIds"] == [found["id"]]
    # Nobody took the other tag's alias meanwhile.
    assert errors(await create(gql, "shared alias")) == [("NAME_TAKEN", ["name"])]


# Relevance order and similarTags rank a tag by the best of its names -----------------------

RANKED = """
query Ranked($q: String!) {
  tags(workspaceId: "ws-main", filter: { search: $q }, orderBy: { field: RELEVANCE }) {
    totalCount nodes { name }
  }
}
"""

SIMILAR = """
query Similar($name: String!) { similarTags(workspaceId: "ws-main", name: $name) { name } }
"""


async def test_relevance_ranks_an_alias_equal_to_the_search_first(gql: Executor) -> None:
    await create(gql, "JSON")
    await create(gql, "JavaScript", ["JS", "JScript"])
    await create(gql, "Node JS")
    ranked = (await gql(RANKED, {"q": "js"})).ok()["tags"]
    # JavaScript's alias is exact; JSON starts with it; Node JS has a word starting with it.
    assert ranked == {
        "totalCount": 3,
        "nodes": [{"name": "JavaScript"}, {"name": "JSON"}, {"name": "Node JS"}],
    }


async def test_similar_tags_compare_aliases_and_list_a_tag_once(gql: Executor) -> None:
    await create(gql, "JavaScript", ["ECMAScript", "ECMA Script"])
    await create(gql, "Elm")
    close = (await gql(SIMILAR, {"name": "ecmascrpt"})).ok()["similarTags"]
    assert close == [{"name": "JavaScript"}]
    exact = (await gql(SIMILAR, {"name": "ECMASCRIPT"})).ok()["similarTags"]
    assert exact == [{"name": "JavaScript"}]


# Invisible and direction-changing characters (contract 1.1) -------------------------------


@pytest.mark.parametrize("char", ["\u200b", "\u202e", "\ufeff", "\U000e0001", "\u3164"])
async def test_an_alias_with_an_invisible_character_is_validation(gql: Executor, char: str) -> None:
    created = await create(gql, "Visible", ["fine", f"look{char}alike"])
    assert errors(created) == [("VALIDATION", ["aliases", "1"])]
    tag = (await create(gql, "Visible"))["tag"]
    assert errors(await update(gql, tag["id"], aliases=[f"{char}x"])) == [
        ("VALIDATION", ["aliases", "0"])
    ]


async def test_joiners_stay_allowed_in_aliases(gql: Executor) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    created = await create(gql, "Family", [family, "a\u200cb"])
    assert created["userErrors"] == [] and created["tag"]["aliases"] == [family, "a\u200cb"]
