"""graphql-core's own messages are recognized and translated; codes stay as they were.

If graphql-core changes its wording, the recognition test fails: update the
templates in schema/extensions/core_messages.py and run `make messages`.
"""

from __future__ import annotations

from typing import Any

import pytest

from i18n import Message
from resolvers.authorization import DEV_PRINCIPAL
from resolvers.context import make_context
from schema import TagsSchema
from schema.extensions.core_messages import TEMPLATES, recognized
from storage import Store

# (document, variables): each fails in graphql-core (parse, validation or variables).
FAILING: list[tuple[str, dict[str, Any] | None]] = [
    ('{ tags(workspaceId: "w") { nodes { nam } } }', None),
    ('{ tags(workspaceId: "w") { nodes { zzzzzz } } }', None),
    ('{ tags(workspaceId: "w") { nodes { id } } ', None),
    ('{ tags(workspaceId: "w", bogus: 1) { totalCount } }', None),
    ("{ tags { totalCount } }", None),
    ('{ tags(workspaceId: "w") }', None),
    ('{ tags(workspaceId: "w") { totalCount { x } } }', None),
    ("query($x: Int) { viewer { id } }", None),
    ("query { tags(workspaceId: $ws) { totalCount } }", None),
    ("query($x: Foo) { viewer { id } }", None),
    ('{ tags(workspaceId: "w", first: "x") { totalCount } }', None),
    ("query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }", {}),
    ("query($ws: ID!) { tags(workspaceId: $ws) { totalCount } }", {"ws": None}),
    ('query($n: Int) { tags(workspaceId: "w", first: $n) { totalCount } }', {"n": "x"}),
    (
        "mutation($i: CreateTagInput!) { createTag(input: $i) { tag { id } } }",
        {"i": {"workspaceId": "w"}},
    ),
    (
        "mutation($i: CreateTagInput!) { createTag(input: $i) { tag { id } } }",
        {"i": {"workspaceId": "w", "name": "x", "zz": 1}},
    ),
    ("{ " + "viewer { id } " * 2600 + "}", None),
]


async def run(
    schema: TagsSchema, store: Store, query: str, variables: dict[str, Any] | None, language: str
) -> list[dict[str, Any]]:
    context = make_context(None, DEV_PRINCIPAL, store, "t", language=language)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    assert result.errors, query
    return [e.formatted for e in result.errors]


@pytest.mark.parametrize(("query", "variables"), FAILING, ids=range(len(FAILING)))
async def test_graphql_core_messages_are_translated(
    schema: TagsSchema, store: Store, query: str, variables: dict[str, Any] | None
) -> None:
    english = await run(schema, store, query, variables, "en")
    for error in english:
        assert isinstance(recognized(error["message"]), Message), error["message"]
    for language in ("de", "fr", "es", "ja"):
        translated = await run(schema, store, query, variables, language)
        assert [e["message"] for e in translated] != [e["message"] for e in english]
        # Only the message changes.
        assert [{**e, "message": ""} for e in translated] == [{**e, "message": ""} for e in english]


async def test_known_texts(schema: TagsSchema, store: Store) -> None:
    query = '{ tags(workspaceId: "w") { nodes { nam } } }'
    [de] = await run(schema, store, query, None, "de")
    assert de["message"] == (
        "Das Feld 'nam' kann auf dem Typ 'Tag' nicht abgefragt werden. Meinten Sie 'name'?"
    )
    query = "mutation($i: CreateTagInput!) { createTag(input: $i) { tag { id } } }"
    [fr] = await run(schema, store, query, {"i": {"workspaceId": "w"}}, "fr")
    assert fr["message"] == (
        "La variable '$i' a une valeur non valide : Une valeur de type 'CreateTagInput' doit "
        "contenir le champ obligatoire 'name', reçu : {'workspaceId': 'w'}."
    )
    [ja] = await run(schema, store, "{ " + "viewer { id } " * 2600 + "}", None, "ja")
    assert ja["message"] == (
        "構文エラー: ドキュメントのトークンが 5000 個を超えています。解析を中止しました。"
    )
    assert ja["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_unlisted_text_is_left_alone() -> None:
    assert recognized("Something graphql-core may say one day.") == (
        "Something graphql-core may say one day."
    )
    assert not isinstance(recognized("Something graphql-core may say one day."), Message)


def test_templates_are_unique() -> None:
    assert len(set(TEMPLATES)) == len(TEMPLATES)
