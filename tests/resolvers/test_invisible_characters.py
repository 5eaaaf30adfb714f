"""Contract 1.1: invisible and direction-changing characters are refused in names and categories.

Each range is tested at both ends and just outside them: the character at the
edge is refused, its neighbour (one code point beyond) is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from resolvers.errors import UserErrorCode, UserFailure
from resolvers.normalization import normalize_category, normalize_name, reject_invisible
from tests.harness import Executor
from tests.helpers import ADD_TAGS, CREATE_TAG, UPDATE_TAG, WS, create_tag

# Every code point the contract lists, with each range given by its two ends.
REFUSED = [
    0x061C,
    0x115F,
    0x1160,
    0x200B,
    0x200E,
    0x200F,
    0x202A,
    0x202E,
    0x2060,
    0x2066,
    0x2069,
    0x3164,
    0xFEFF,
    0xFFA0,
    0xE0000,
    0xE0001,
    0xE007F,
]
# One code point beyond each end above (and the joiners, which emoji need).
ACCEPTED = [
    0x061B,
    0x061D,
    0x115E,
    0x1161,
    0x200C,  # zero-width non-joiner
    0x200D,  # zero-width joiner
    0x2010,
    0x2029,
    0x202F,
    0x205F,
    0x2061,
    0x2065,
    0x206A,
    0x3163,
    0x3165,
    0xFEFE,
    0xFF00,
    0xFF9F,
    0xFFA1,
    0xDFFFF,
    0xE0080,
]
RULES: dict[str, Callable[..., Any]] = {"name": normalize_name, "category": normalize_category}


def _hex(code: int) -> str:
    return f"U+{code:04X}"


def _problem(call: Callable[[], object]) -> tuple[UserErrorCode, tuple[str, ...] | None, str]:
    with pytest.raises(UserFailure) as raised:
        call()
    [problem] = raised.value.problems
    return problem.code, problem.field, problem.message


@pytest.mark.parametrize("field", sorted(RULES))
@pytest.mark.parametrize("code", REFUSED, ids=_hex)
@pytest.mark.parametrize("where", ["start", "middle", "end", "alone"])
def test_a_listed_character_anywhere_is_refused(field: str, code: int, where: str) -> None:
    c = chr(code)
    text = {"start": c + "Bug", "middle": "B" + c + "ug", "end": "Bug" + c, "alone": c}[where]
    got = _problem(lambda: RULES[field](text, path=("tags", "2", field)))
    label = field.capitalize()
    message = f"{label} must not contain invisible or direction-changing characters."
    assert got == (UserErrorCode.VALIDATION, ("tags", "2", field), message)


@pytest.mark.parametrize("field", sorted(RULES))
@pytest.mark.parametrize("code", ACCEPTED, ids=_hex)
def test_the_neighbours_of_each_range_are_accepted(field: str, code: int) -> None:
    text = "B" + chr(code) + "ug"
    stored = RULES[field](text, path=(field,))
    if not chr(code).isspace():  # a name's inner whitespace is collapsed, not refused
        assert stored == text


def test_joiners_in_an_emoji_sequence_stay() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_name(f"Team {family}", path=("name",)) == f"Team {family}"


def test_the_check_for_aliases_names_its_field() -> None:
    got = _problem(lambda: reject_invisible("a\u2066b", path=("aliases", "0"), label="Alias"))
    message = "Alias must not contain invisible or direction-changing characters."
    assert got == (UserErrorCode.VALIDATION, ("aliases", "0"), message)
    reject_invisible("a\u200db", path=("aliases", "0"), label="Alias")  # a joiner: no error


# --- through the schema: every path that takes a name or a category -----------

TAG_COUNT = "query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }"

CREATE_TAGS = """
mutation($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id } userErrors { code field message } }
}
"""


def _errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def _tag_count(gql: Executor) -> int:
    return int((await gql(TAG_COUNT, {"ws": WS})).ok()["tags"]["totalCount"])


@pytest.mark.parametrize("field", ["name", "category"])
async def test_create_tag_refuses_it_with_the_field(gql: Executor, field: str) -> None:
    fields = {"name": "Plain", field: "Look\u200ealike"}
    result = await gql(CREATE_TAG, {"input": {"workspaceId": WS, **fields}})
    payload = result.ok()["createTag"]
    assert payload["tag"] is None
    assert _errors(payload) == [("VALIDATION", [field])]
    assert await _tag_count(gql) == 0


@pytest.mark.parametrize("field", ["name", "category"])
async def test_update_tag_refuses_it_and_keeps_the_tag(gql: Executor, field: str) -> None:
    tag = await create_tag(gql, "Original", category="topic")
    result = await gql(UPDATE_TAG, {"input": {"id": tag["id"], field: "Now\u2067here"}})
    payload = result.ok()["updateTag"]
    assert _errors(payload) == [("VALIDATION", [field])]
    assert payload["tag"] is None
    read = await gql("query($id: ID!) { tag(id: $id) { name category } }", {"id": tag["id"]})
    assert read.ok()["tag"] == {"name": "Original", "category": "topic"}


async def test_create_tags_reports_every_item_at_its_path(gql: Executor) -> None:
    drafts = [
        {"name": "Fine"},
        {"name": "Bad\u3164"},
        {"name": "Also fine", "category": "\U000e0041topic"},
        {"name": "Fine \u200d too"},
    ]
    result = await gql(CREATE_TAGS, {"input": {"workspaceId": WS, "tags": drafts}})
    payload = result.ok()["createTags"]
    assert payload["tags"] == []
    assert _errors(payload) == [
        ("VALIDATION", ["tags", "1", "name"]),
        ("VALIDATION", ["tags", "2", "category"]),
    ]
    assert await _tag_count(gql) == 0


async def test_add_tags_by_name_refuses_it_in_tag_names(gql: Executor) -> None:
    variables = {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": "T-1"}],
            "tagNames": ["ok", "\u202eko"],
            "createMissing": True,
        }
    }
    payload = (await gql(ADD_TAGS, variables)).ok()["addTagsToResources"]
    assert _errors(payload) == [("VALIDATION", ["tagNames", "1"])]
    assert payload["createdTags"] == []
    assert await _tag_count(gql) == 0


async def test_a_name_with_a_joiner_is_created(gql: Executor) -> None:
    tag = await create_tag(gql, "Crew \U0001f469\u200d\U0001f680", category="people\u200c")
    assert tag["name"] == "Crew \U0001f469\u200d\U0001f680"
    assert tag["category"] == "people\u200c"
