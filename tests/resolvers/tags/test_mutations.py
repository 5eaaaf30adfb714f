"""createTag / updateTag / deleteTag and the single-tag reads, through the schema."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.harness import Executor
from tests.helpers import CREATE_TAG, DELETE_TAG, OTHER_WS, UPDATE_TAG, WS, create_tag

TAG_BY_ID = """
query($id: ID!) { tag(id: $id) { id name slug description category metadata color } }
"""

TAG_BY_SLUG = """
query($ws: ID!, $slug: String!) { tagBySlug(workspaceId: $ws, slug: $slug) { id name workspaceId } }
"""

NODE = """
query($id: ID!) { node(id: $id) { __typename id ... on Tag { name } } }
"""

NODES = """
query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Tag { name } } }
"""

TAG_NAMES = """
query($ws: ID!) { tags(workspaceId: $ws) { totalCount nodes { id name } } }
"""

DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
COLOR_RE = re.compile(r"#[0-9a-f]{6}")
UNKNOWN_ID = "tag_" + "0" * 24


# --- helpers ------------------------------------------------------------------


async def create(gql: Executor, name: str, workspace: str = WS, **fields: Any) -> dict[str, Any]:
    """Run createTag and return its payload (success or not)."""
    variables = {"input": {"workspaceId": workspace, "name": name, **fields}}
    return (await gql(CREATE_TAG, variables)).ok()["createTag"]


async def update(gql: Executor, tag_id: str, **fields: Any) -> dict[str, Any]:
    return (await gql(UPDATE_TAG, {"input": {"id": tag_id, **fields}})).ok()["updateTag"]


async def read(gql: Executor, tag_id: str) -> dict[str, Any] | None:
    return (await gql(TAG_BY_ID, {"id": tag_id})).ok()["tag"]


def errors_of(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def expect_create_error(
    gql: Executor, name: str, code: str, field: list[str], **fields: Any
) -> dict[str, Any]:
    payload = await create(gql, name, **fields)
    assert errors_of(payload) == [(code, field)], payload["userErrors"]
    assert payload["tag"] is None
    assert all(e["message"].strip() for e in payload["userErrors"])
    return payload


async def names_in(gql: Executor, workspace: str = WS) -> list[str]:
    return [n["name"] for n in (await gql(TAG_NAMES, {"ws": workspace})).ok()["tags"]["nodes"]]


# --- createTag: text normalization ---------------------------------------------


async def test_create_returns_every_field(gql: Executor) -> None:
    payload = await create(
        gql,
        "Urgent",
        color="#FF0000",
        description="Needs attention",
        category="priority",
        metadata={"weight": 3, "flags": ["a", "b"]},
        clientMutationId="cm-1",
    )
    assert payload["userErrors"] == []
    assert payload["clientMutationId"] == "cm-1"
    tag = payload["tag"]
    assert tag["id"].startswith("tag_")
    assert tag["workspaceId"] == WS
    assert tag["name"] == "Urgent"
    assert tag["slug"] == "urgent"
    assert tag["color"] == "#ff0000"
    assert tag["textColor"] == "#000000"
    assert tag["description"] == "Needs attention"
    assert tag["category"] == "priority"
    assert tag["metadata"] == {"weight": 3, "flags": ["a", "b"]}
    assert tag["createdBy"] == "dev"
    assert tag["depth"] == 0
    assert tag["parent"] is None
    assert DATETIME_RE.fullmatch(tag["createdAt"]), tag["createdAt"]
    assert DATETIME_RE.fullmatch(tag["updatedAt"]), tag["updatedAt"]
    assert tag["createdAt"] == tag["updatedAt"]
    assert await read(gql, tag["id"]) == {
        "id": tag["id"],
        "name": "Urgent",
        "slug": "urgent",
        "description": "Needs attention",
        "category": "priority",
        "metadata": {"weight": 3, "flags": ["a", "b"]},
        "color": "#ff0000",
    }


async def test_create_defaults(gql: Executor) -> None:
    tag = await create_tag(gql, "Plain")
    assert tag["description"] is None
    assert tag["category"] is None
    assert tag["metadata"] == {}
    assert COLOR_RE.fullmatch(tag["color"])
    assert tag["textColor"] in ("#000000", "#ffffff")


async def test_name_is_trimmed_and_whitespace_collapsed(gql: Executor) -> None:
    tag = await create_tag(gql, "   Big \u00a0  \u3000 Deal   ")
    assert tag["name"] == "Big Deal"
    assert tag["slug"] == "big-deal"


async def test_name_is_nfc_normalized(gql: Executor) -> None:
    tag = await create_tag(gql, "Cafe\u0301")
    assert tag["name"] == "Caf\u00e9"
    # Already-composed input is the same name, hence taken.
    payload = await create(gql, "CAF\u00c9")
    assert errors_of(payload) == [("NAME_TAKEN", ["name"])]


async def test_name_length_boundaries_in_code_points(gql: Executor) -> None:
    assert (await create_tag(gql, "x"))["name"] == "x"
    assert (await create_tag(gql, "n" * 100))["name"] == "n" * 100
    # 100 astral code points (200 UTF-16 units) are still 100 characters.
    assert (await create_tag(gql, "\U0001f600" * 100))["name"] == "\U0001f600" * 100
    # 200 code points before NFC, 100 after: counted after normalization.
    assert (await create_tag(gql, "e\u0301" * 100))["name"] == "\u00e9" * 100
    # Surrounding whitespace does not count either.
    assert (await create_tag(gql, "  " + "m" * 100 + "  "))["name"] == "m" * 100
    await expect_create_error(gql, "n" * 101, "VALIDATION", ["name"])
    await expect_create_error(gql, "", "VALIDATION", ["name"])
    await expect_create_error(gql, "   ", "VALIDATION", ["name"])


@pytest.mark.parametrize("name", ["a\nb", "a\tb", "\nab", "ab\x00", "a\x7fb", "a\x85b", "a\rb"])
async def test_control_characters_rejected_in_name(gql: Executor, name: str) -> None:
    await expect_create_error(gql, name, "VALIDATION", ["name"])


@pytest.mark.parametrize("category", ["a\nb", "a\tb", "x\x1b", "\ttopic"])
async def test_control_characters_rejected_in_category(gql: Executor, category: str) -> None:
    await expect_create_error(gql, "Tag", "VALIDATION", ["category"], category=category)


async def test_description_allows_tab_and_newline_only(gql: Executor) -> None:
    tag = await create_tag(gql, "Doc", description="  line one\n\tline two  ")
    assert tag["description"] == "line one\n\tline two"
    await expect_create_error(gql, "Doc2", "VALIDATION", ["description"], description="a\rb")
    await expect_create_error(gql, "Doc3", "VALIDATION", ["description"], description="a\x00b")
    await expect_create_error(gql, "Doc4", "VALIDATION", ["description"], description="a\x0bb")
    assert await names_in(gql) == ["Doc"]


@pytest.mark.parametrize("blank", ["", "   ", " \n\t "])
async def test_blank_description_and_category_stored_as_null(gql: Executor, blank: str) -> None:
    tag = await create_tag(
        gql, "Blank", description=blank, category=blank.replace("\n", "").replace("\t", "")
    )
    assert tag["description"] is None
    assert tag["category"] is None
    assert (await read(gql, tag["id"]))["description"] is None  # type: ignore[index]


async def test_description_and_category_are_trimmed_and_nfc(gql: Executor) -> None:
    tag = await create_tag(gql, "T", description="  Cre\u0300me  ", category="  Big  topic ")
    assert tag["description"] == "Cr\u00e8me"
    # Inner whitespace is collapsed for names only.
    assert tag["category"] == "Big  topic"


async def test_description_length_limit(gql: Executor) -> None:
    assert (await create_tag(gql, "D1", description="d" * 500))["description"] == "d" * 500
    # 1000 code points before NFC, 500 after.
    composed = await create_tag(gql, "D2", description="e\u0301" * 500)
    assert composed["description"] == "\u00e9" * 500
    await expect_create_error(gql, "D3", "VALIDATION", ["description"], description="d" * 501)


async def test_category_length_limit(gql: Executor) -> None:
    assert (await create_tag(gql, "C1", category="c" * 50))["category"] == "c" * 50
    assert (await create_tag(gql, "C2", category=" " + "c" * 50 + " "))["category"] == "c" * 50
    await expect_create_error(gql, "C3", "VALIDATION", ["category"], category="c" * 51)


async def test_several_problems_reported_at_once_and_nothing_created(gql: Executor) -> None:
    payload = await create(
        gql,
        "   ",
        color="#abc",
        slug="Not A Slug",
        description="x" * 501,
        category="c" * 51,
        metadata={"ok": 1, "$bad": 2},
    )
    assert payload["tag"] is None
    assert sorted(errors_of(payload)) == sorted(
        [
            ("VALIDATION", ["name"]),
            ("VALIDATION", ["color"]),
            ("VALIDATION", ["slug"]),
            ("VALIDATION", ["description"]),
            ("VALIDATION", ["category"]),
            ("VALIDATION", ["metadata", "$bad"]),
        ]
    )
    assert await names_in(gql) == []


# --- createTag: name uniqueness --------------------------------------------------


async def test_name_taken_is_case_insensitive_within_a_workspace(gql: Executor) -> None:
    vip = await create_tag(gql, "VIP")
    payload = await create(gql, "vip", clientMutationId="again")
    assert errors_of(payload) == [("NAME_TAKEN", ["name"])]
    assert payload["tag"] is None
    assert payload["clientMutationId"] == "again"
    # Whitespace differences normalize away too.
    assert errors_of(await create(gql, "  Vip ")) == [("NAME_TAKEN", ["name"])]
    other = await create_tag(gql, "vip", workspace=OTHER_WS)
    assert other["workspaceId"] == OTHER_WS
    assert other["id"] != vip["id"]
    assert await names_in(gql) == ["VIP"]
    assert await names_in(gql, OTHER_WS) == ["vip"]


# --- createTag: slugs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Bug / Issue", "bug-issue"),
        ("P0 Critical!!!", "p0-critical"),
        ("Café Crème", "cafe-creme"),
        ("Ærø Ünïcödé", "aero-unicode"),
        ("Straße", "strasse"),
        ("--Hello--World--", "hello-world"),
        ("日本 Tokyo", "tokyo"),
        ("C++ & C#", "c-c"),
    ],
)
async def test_generated_slugs(gql: Executor, name: str, slug: str) -> None:
    tag = await create_tag(gql, name)
    assert tag["slug"] == slug
    found = (await gql(TAG_BY_SLUG, {"ws": WS, "slug": slug})).ok()["tagBySlug"]
    assert found["id"] == tag["id"]


async def test_generated_slug_never_exceeds_100(gql: Executor) -> None:
    # "ß" folds to "ss": 100 characters of name make 200 of slug, cut to 100.
    tag = await create_tag(gql, "\u00df" * 100)
    assert tag["slug"] == "s" * 100
    # Another name folding to the same slug: the suffix still fits in 100.
    second = await create_tag(gql, "\u00df" * 50)
    assert re.fullmatch(r"s+-2", second["slug"]), second["slug"]
    assert len(second["slug"]) <= 100


async def test_generated_slug_gets_numeric_suffix_when_taken(gql: Executor) -> None:
    assert (await create_tag(gql, "bug"))["slug"] == "bug"
    assert (await create_tag(gql, "Bug!"))["slug"] == "bug-2"
    assert (await create_tag(gql, "BUG?"))["slug"] == "bug-3"
    # A slug taken explicitly by another tag counts as taken too.
    await create_tag(gql, "Something", slug="bug-4")
    assert (await create_tag(gql, "(bug)"))["slug"] == "bug-5"
    # Other workspaces do not matter.
    assert (await create_tag(gql, "Bug", workspace=OTHER_WS))["slug"] == "bug"


async def test_name_without_ascii_letters_gets_slug_from_id(gql: Executor) -> None:
    first = await create_tag(gql, "日本")
    second = await create_tag(gql, "中国")
    third = await create_tag(gql, "!!!")
    for tag in (first, second, third):
        assert SLUG_RE.fullmatch(tag["slug"]), tag["slug"]
        assert tag["id"].removeprefix("tag_") in tag["slug"]
        found = (await gql(TAG_BY_SLUG, {"ws": WS, "slug": tag["slug"]})).ok()["tagBySlug"]
        assert found["id"] == tag["id"]
    assert len({first["slug"], second["slug"], third["slug"]}) == 3


async def test_explicit_slug_accepted_as_given(gql: Executor) -> None:
    tag = await create_tag(gql, "Whatever Name", slug="custom-slug-9")
    assert tag["slug"] == "custom-slug-9"
    assert (await create_tag(gql, "Trimmed", slug="  padded  "))["slug"] == "padded"
    assert (await create_tag(gql, "Long", slug="s" * 100))["slug"] == "s" * 100


@pytest.mark.parametrize(
    "slug",
    [
        "UPPER",
        "has space",
        "-lead",
        "trail-",
        "dou--ble",
        "under_score",
        "caf\u00e9",
        "",
        "   ",
        "s" * 101,
        "a\nb",
    ],
)
async def test_invalid_explicit_slug(gql: Executor, slug: str) -> None:
    await expect_create_error(gql, "Tag", "VALIDATION", ["slug"], slug=slug)


async def test_slug_taken(gql: Executor) -> None:
    await create_tag(gql, "Original")  # generated slug "original"
    payload = await expect_create_error(gql, "Copy", "SLUG_TAKEN", ["slug"], slug="original")
    assert payload["tag"] is None
    await create_tag(gql, "Explicit", slug="mine")
    await expect_create_error(gql, "Another", "SLUG_TAKEN", ["slug"], slug="mine")
    # The same slug in another workspace is fine.
    assert (await create_tag(gql, "Other", workspace=OTHER_WS, slug="mine"))["slug"] == "mine"
    assert sorted(await names_in(gql)) == ["Explicit", "Original"]


async def test_name_taken_and_slug_taken_reported(gql: Executor) -> None:
    await create_tag(gql, "Alpha", slug="alpha")
    payload = await create(gql, "ALPHA", slug="alpha")
    codes = {code for code, _ in errors_of(payload)}
    assert "NAME_TAKEN" in codes
    assert payload["tag"] is None


# --- createTag: colors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [("ABCDEF", "#abcdef"), ("#abcdef", "#abcdef"), ("#AbCdEf", "#abcdef"), ("012345", "#012345")],
)
async def test_color_forms(gql: Executor, given: str, stored: str) -> None:
    assert (await create_tag(gql, "Colored", color=given))["color"] == stored


@pytest.mark.parametrize(
    "color", ["#abc", "abc", "#abcdeg", "##abcdef", "#abcdef0", "red", "", "#ab cdef"]
)
async def test_invalid_color(gql: Executor, color: str) -> None:
    await expect_create_error(gql, "Colored", "VALIDATION", ["color"], color=color)


async def test_default_color_is_deterministic_by_name(gql: Executor) -> None:
    names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
    here = [await create_tag(gql, n) for n in names]
    there = [await create_tag(gql, n, workspace=OTHER_WS) for n in names]
    for a, b in zip(here, there, strict=True):
        assert COLOR_RE.fullmatch(a["color"])
        assert a["color"] == b["color"], a["name"]
    # A palette of more than one color is in use for six different names.
    assert len({t["color"] for t in here}) > 1
    # Recreating a deleted tag with the same name gets the same color again.
    result = await gql(DELETE_TAG, {"input": {"id": here[0]["id"]}})
    assert result.ok()["deleteTag"]["userErrors"] == []
    assert (await create_tag(gql, "Alpha"))["color"] == here[0]["color"]


@pytest.mark.parametrize(
    ("color", "text"),
    [
        ("#ffffff", "#000000"),
        ("#000000", "#ffffff"),
        ("#ffff00", "#000000"),
        ("#0000ff", "#ffffff"),
        ("#777777", "#000000"),
        ("#707070", "#ffffff"),
    ],
)
async def test_text_color_has_higher_contrast(gql: Executor, color: str, text: str) -> None:
    assert (await create_tag(gql, "Contrast", color=color))["textColor"] == text


# --- createTag: metadata -----------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    """An object nested `depth` levels deep (the top object is level 1)."""
    value: dict[str, Any] = {"leaf": 1}
    for level in range(depth - 1):
        value = {f"k{level}": value}
    return value


async def test_metadata_depth_limit(gql: Executor) -> None:
    five = nested(5)
    assert (await create_tag(gql, "Deep5", metadata=five))["metadata"] == five
    payload = await create(gql, "Deep6", metadata=nested(6))
    assert payload["tag"] is None
    [(code, field)] = errors_of(payload)
    assert code == "VALIDATION"
    assert field is not None and field[0] == "metadata"


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"$set": 1}, ["metadata", "$set"]),
        ({"a.b": 1}, ["metadata", "a.b"]),
        ({"outer": {"$inner": True}}, ["metadata", "outer", "$inner"]),
        ({"outer": {"x.y": None}}, ["metadata", "outer", "x.y"]),
        ({"": 1}, ["metadata", ""]),
        ({"k" * 65: 1}, ["metadata", "k" * 65]),
    ],
)
async def test_metadata_key_rules(
    gql: Executor, metadata: dict[str, Any], field: list[str]
) -> None:
    await expect_create_error(gql, "Meta", "VALIDATION", field, metadata=metadata)


async def test_metadata_key_length_boundary_and_allowed_keys(gql: Executor) -> None:
    metadata = {"k" * 64: 1, "a$": 2, "snake_case": [1, {"x": None}], "ünï": "ok"}
    assert (await create_tag(gql, "Meta", metadata=metadata))["metadata"] == metadata


async def test_metadata_size_limit_counts_utf8_bytes(gql: Executor) -> None:
    # {"k":"<n chars>"} is 8 bytes plus the value when serialized compactly.
    fits = {"k": "x" * (16384 - 8)}
    assert (await create_tag(gql, "Big", metadata=fits))["metadata"] == fits
    payload = await create(gql, "Bigger", metadata={"k": "x" * (16384 - 7)})
    [(code, field)] = errors_of(payload)
    assert code == "VALIDATION"
    assert field is not None and field[0] == "metadata"
    # "é" is 2 bytes: 8200 of them are far fewer than 16384 characters but too many bytes.
    payload = await create(gql, "Accented", metadata={"k": "\u00e9" * 8200})
    [(code, field)] = errors_of(payload)
    assert code == "VALIDATION"
    assert field is not None and field[0] == "metadata"
    assert await names_in(gql) == ["Big"]


@pytest.mark.parametrize("metadata", [[1, 2], "text", 5])
async def test_metadata_must_be_an_object(gql: Executor, metadata: Any) -> None:
    payload = await create(gql, "Meta", metadata=metadata)
    [(code, field)] = errors_of(payload)
    assert code == "VALIDATION"
    assert field is not None and field[0] == "metadata"


async def test_metadata_null_means_empty_object(gql: Executor) -> None:
    assert (await create_tag(gql, "NoMeta", metadata=None))["metadata"] == {}


# --- updateTag -----------------------------------------------------------------------


async def full_tag(gql: Executor, name: str = "Full", **fields: Any) -> dict[str, Any]:
    defaults = {
        "description": "Some text",
        "category": "topic",
        "metadata": {"a": 1},
        "color": "#123456",
    }
    return await create_tag(gql, name, **{**defaults, **fields})


async def test_update_omitted_fields_unchanged(gql: Executor) -> None:
    tag = await full_tag(gql)
    payload = await update(gql, tag["id"], color="FEDCBA", clientMutationId="u1")
    assert payload["userErrors"] == []
    assert payload["clientMutationId"] == "u1"
    updated = payload["tag"]
    assert updated["color"] == "#fedcba"
    assert updated["textColor"] == "#000000"
    for key in ("name", "slug", "description", "category", "metadata", "createdBy", "createdAt"):
        assert updated[key] == tag[key], key
    assert (await read(gql, tag["id"]))["color"] == "#fedcba"  # type: ignore[index]


async def test_update_explicit_null_clears(gql: Executor) -> None:
    parent = await create_tag(gql, "Parent")
    tag = await full_tag(gql, parentId=parent["id"])
    assert tag["parent"] == {"id": parent["id"]}
    assert tag["depth"] == 1
    payload = await update(
        gql, tag["id"], description=None, category=None, metadata=None, parentId=None
    )
    assert payload["userErrors"] == []
    updated = payload["tag"]
    assert updated["description"] is None
    assert updated["category"] is None
    assert updated["metadata"] == {}
    assert updated["parent"] is None
    assert updated["depth"] == 0
    assert updated["ancestors"] == []
    assert updated["name"] == tag["name"]
    assert updated["color"] == tag["color"]
    stored = await read(gql, tag["id"])
    assert stored is not None
    assert (stored["description"], stored["category"], stored["metadata"]) == (None, None, {})


@pytest.mark.parametrize("blank", ["", "   "])
async def test_update_blank_string_clears_description_and_category(
    gql: Executor, blank: str
) -> None:
    tag = await full_tag(gql)
    updated = (await update(gql, tag["id"], description=blank, category=blank))["tag"]
    assert updated["description"] is None
    assert updated["category"] is None
    assert updated["metadata"] == {"a": 1}


async def test_update_sets_description_category_metadata(gql: Executor) -> None:
    tag = await full_tag(gql)
    updated = (
        await update(
            gql, tag["id"], description=" new\ntext ", category=" Place ", metadata={"b": [2]}
        )
    )["tag"]
    assert updated["description"] == "new\ntext"
    assert updated["category"] == "Place"
    # Metadata is replaced, not merged.
    assert updated["metadata"] == {"b": [2]}


@pytest.mark.parametrize("field", ["name", "slug", "color"])
async def test_update_null_for_required_fields_is_validation(gql: Executor, field: str) -> None:
    tag = await full_tag(gql)
    payload = await update(gql, tag["id"], **{field: None})
    assert errors_of(payload) == [("VALIDATION", [field])]
    assert payload["tag"] is None
    stored = await read(gql, tag["id"])
    assert stored is not None
    assert (stored["name"], stored["slug"], stored["color"]) == (
        tag["name"],
        tag["slug"],
        tag["color"],
    )


async def test_update_with_no_field_is_validation_with_null_field(gql: Executor) -> None:
    tag = await full_tag(gql)
    for extra in ({}, {"clientMutationId": "only-cmid"}):
        payload = await update(gql, tag["id"], **extra)
        assert errors_of(payload) == [("VALIDATION", None)]
        assert payload["tag"] is None
        assert payload["clientMutationId"] == extra.get("clientMutationId")


async def test_rename_keeps_slug_unless_slug_given(gql: Executor) -> None:
    tag = await create_tag(gql, "Old Name")
    renamed = (await update(gql, tag["id"], name="  New   Name "))["tag"]
    assert renamed["name"] == "New Name"
    assert renamed["slug"] == "old-name"
    assert (await gql(TAG_BY_SLUG, {"ws": WS, "slug": "old-name"})).ok()["tagBySlug"]["id"] == tag[
        "id"
    ]
    both = (await update(gql, tag["id"], name="Third", slug="third-slug"))["tag"]
    assert (both["name"], both["slug"]) == ("Third", "third-slug")
    assert (await gql(TAG_BY_SLUG, {"ws": WS, "slug": "old-name"})).ok()["tagBySlug"] is None


async def test_update_validates_like_create_and_changes_nothing(gql: Executor) -> None:
    tag = await full_tag(gql)
    payload = await update(
        gql,
        tag["id"],
        name="a\nb",
        color="#abc",
        slug="Bad Slug",
        metadata={"x.y": 1},
        description="ok",
    )
    assert sorted(errors_of(payload)) == sorted(
        [
            ("VALIDATION", ["name"]),
            ("VALIDATION", ["color"]),
            ("VALIDATION", ["slug"]),
            ("VALIDATION", ["metadata", "x.y"]),
        ]
    )
    assert payload["tag"] is None
    stored = await read(gql, tag["id"])
    assert stored is not None
    assert stored["description"] == "Some text"
    assert stored["name"] == "Full"


async def test_update_name_taken_case_insensitive(gql: Executor) -> None:
    await create_tag(gql, "Taken")
    tag = await create_tag(gql, "Free")
    payload = await update(gql, tag["id"], name="TAKEN")
    assert errors_of(payload) == [("NAME_TAKEN", ["name"])]
    assert payload["tag"] is None
    assert (await read(gql, tag["id"]))["name"] == "Free"  # type: ignore[index]
    # A tag of that name in another workspace does not matter.
    elsewhere = await create_tag(gql, "Free", workspace=OTHER_WS)
    assert (await update(gql, elsewhere["id"], name="Taken"))["tag"]["name"] == "Taken"


async def test_update_slug_taken(gql: Executor) -> None:
    await create_tag(gql, "First", slug="first")
    tag = await create_tag(gql, "Second")
    payload = await update(gql, tag["id"], slug="first")
    assert errors_of(payload) == [("SLUG_TAKEN", ["slug"])]
    assert payload["tag"] is None
    assert (await read(gql, tag["id"]))["slug"] == "second"  # type: ignore[index]
    # With a free new name alongside, the slug is still what is at fault.
    payload = await update(gql, tag["id"], name="Brand New", slug="first")
    assert errors_of(payload) == [("SLUG_TAKEN", ["slug"])]
    assert (await read(gql, tag["id"]))["name"] == "Second"  # type: ignore[index]


async def test_rename_to_case_variant_of_own_name(gql: Executor) -> None:
    tag = await create_tag(gql, "vip")
    payload = await update(gql, tag["id"], name="VIP")
    assert payload["userErrors"] == []
    assert payload["tag"]["name"] == "VIP"
    assert payload["tag"]["slug"] == "vip"
    assert (await read(gql, tag["id"]))["name"] == "VIP"  # type: ignore[index]
    # Giving its own slug back is no conflict either.
    assert (await update(gql, tag["id"], slug="vip"))["userErrors"] == []


async def test_update_moves_updated_at_only(gql: Executor) -> None:
    tag = await create_tag(gql, "Timed")
    await asyncio.sleep(0.005)
    updated = (await update(gql, tag["id"], description="now"))["tag"]
    assert DATETIME_RE.fullmatch(updated["updatedAt"])
    assert updated["createdAt"] == tag["createdAt"]
    assert updated["updatedAt"] > tag["updatedAt"]


@pytest.mark.parametrize("tag_id", [UNKNOWN_ID, "nope", "tag_123", "", "tag_" + "A" * 24])
async def test_update_unknown_or_malformed_id_is_not_found(gql: Executor, tag_id: str) -> None:
    await create_tag(gql, "Exists")
    payload = await update(gql, tag_id, name="Whatever", clientMutationId="x")
    assert errors_of(payload) == [("NOT_FOUND", ["id"])]
    assert payload["tag"] is None
    assert payload["clientMutationId"] == "x"


# --- deleteTag -------------------------------------------------------------------------


async def test_delete_tag_removes_it_everywhere(gql: Executor) -> None:
    keep = await create_tag(gql, "Keep")
    gone = await create_tag(gql, "Gone")
    result = await gql(DELETE_TAG, {"input": {"id": gone["id"]}})
    payload = result.ok()["deleteTag"]
    assert payload["userErrors"] == []
    assert payload["deletedTagIds"] == [gone["id"]]
    assert payload["removedTaggingsCount"] == 0
    assert await read(gql, gone["id"]) is None
    assert (await gql(TAG_BY_SLUG, {"ws": WS, "slug": "gone"})).ok()["tagBySlug"] is None
    assert (await gql(NODE, {"id": gone["id"]})).ok()["node"] is None
    listing = (await gql(TAG_NAMES, {"ws": WS})).ok()["tags"]
    assert listing == {"totalCount": 1, "nodes": [{"id": keep["id"], "name": "Keep"}]}
    # Its name and slug are free again.
    assert (await create_tag(gql, "gone"))["slug"] == "gone"


@pytest.mark.parametrize("tag_id", [UNKNOWN_ID, "garbage", "tag_"])
async def test_delete_unknown_or_malformed_is_not_found(gql: Executor, tag_id: str) -> None:
    await create_tag(gql, "Stays")
    payload = (await gql(DELETE_TAG, {"input": {"id": tag_id}})).ok()["deleteTag"]
    assert errors_of(payload) == [("NOT_FOUND", ["id"])]
    assert payload["deletedTagIds"] == []
    assert await names_in(gql) == ["Stays"]


async def test_delete_twice_is_not_found_the_second_time(gql: Executor) -> None:
    tag = await create_tag(gql, "Once")
    first = (await gql(DELETE_TAG, {"input": {"id": tag["id"]}})).ok()["deleteTag"]
    assert first["deletedTagIds"] == [tag["id"]]
    second = (await gql(DELETE_TAG, {"input": {"id": tag["id"]}})).ok()["deleteTag"]
    assert errors_of(second) == [("NOT_FOUND", ["id"])]


# --- tag / tagBySlug / node / nodes ------------------------------------------------------


@pytest.mark.parametrize("tag_id", [UNKNOWN_ID, "nope", "", "tag_xyz", "TAG_" + "0" * 24])
async def test_reads_of_unknown_or_malformed_ids_are_null(gql: Executor, tag_id: str) -> None:
    await create_tag(gql, "Something")
    assert (await gql(TAG_BY_ID, {"id": tag_id})).ok()["tag"] is None
    assert (await gql(NODE, {"id": tag_id})).ok()["node"] is None


async def test_node_returns_a_tag(gql: Executor) -> None:
    tag = await create_tag(gql, "Noded")
    node = (await gql(NODE, {"id": tag["id"]})).ok()["node"]
    assert node == {"__typename": "Tag", "id": tag["id"], "name": "Noded"}


async def test_nodes_keeps_order_with_nulls(gql: Executor) -> None:
    a = await create_tag(gql, "A")
    b = await create_tag(gql, "B")
    ids = [b["id"], UNKNOWN_ID, a["id"], "garbage", b["id"]]
    nodes = (await gql(NODES, {"ids": ids})).ok()["nodes"]
    assert nodes == [
        {"__typename": "Tag", "id": b["id"], "name": "B"},
        None,
        {"__typename": "Tag", "id": a["id"], "name": "A"},
        None,
        {"__typename": "Tag", "id": b["id"], "name": "B"},
    ]
    assert (await gql(NODES, {"ids": []})).ok()["nodes"] == []


async def test_nodes_limit(gql: Executor) -> None:
    a = await create_tag(gql, "A")
    hundred = [a["id"]] + [f"tag_{i:024x}" for i in range(99)]
    nodes = (await gql(NODES, {"ids": hundred})).ok()["nodes"]
    assert len(nodes) == 100
    assert nodes[0]["id"] == a["id"]
    assert nodes[1:] == [None] * 99
    result = await gql(NODES, {"ids": [*hundred, a["id"]]})
    assert result.error_codes == ["BAD_USER_INPUT"]
    assert result.data is None


async def test_tag_by_slug_is_scoped_by_workspace(gql: Executor) -> None:
    here = await create_tag(gql, "Shared", slug="shared")
    there = await create_tag(gql, "Shared", workspace=OTHER_WS, slug="shared")
    only_here = await create_tag(gql, "Only Here")
    found = (await gql(TAG_BY_SLUG, {"ws": WS, "slug": "shared"})).ok()["tagBySlug"]
    assert found == {"id": here["id"], "name": "Shared", "workspaceId": WS}
    found = (await gql(TAG_BY_SLUG, {"ws": OTHER_WS, "slug": "shared"})).ok()["tagBySlug"]
    assert found == {"id": there["id"], "name": "Shared", "workspaceId": OTHER_WS}
    assert only_here["slug"] == "only-here"
    assert (await gql(TAG_BY_SLUG, {"ws": OTHER_WS, "slug": "only-here"})).ok()["tagBySlug"] is None
    assert (await gql(TAG_BY_SLUG, {"ws": WS, "slug": "missing"})).ok()["tagBySlug"] is None
