"""build_schema: hot fields resolved directly by graphql-core, and what that requires."""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType

import schema as schema_module
from schema import DIRECT_FIELDS, TagsSchema, build_schema
from tests.harness import Executor
from tests.helpers import create_tag


def test_hot_fields_skip_strawberrys_argument_conversion(schema: TagsSchema) -> None:
    for type_name, fields in DIRECT_FIELDS.items():
        target = schema._schema.type_map[type_name]
        assert isinstance(target, GraphQLObjectType)
        for name in fields:
            resolve = target.fields[name].resolve
            assert resolve is not None and resolve.__module__ == "schema", (type_name, name)


def test_a_field_needing_conversion_cannot_be_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    # Query.tags takes an input object and enums: Strawberry must convert them.
    monkeypatch.setattr(schema_module, "DIRECT_FIELDS", {"Query": ("tags",)})
    with pytest.raises(TypeError, match="needs conversion"):
        build_schema()


async def test_direct_fields_answer_with_their_arguments(gql: Executor) -> None:
    root = await create_tag(gql, "Root")
    for name in ("B", "A", "C"):
        await create_tag(gql, name, parentId=root["id"])
    result = await gql(
        "query($id: ID!) { tag(id: $id) { childCount children(first: 2) { name parent { name } "
        'ancestors { name } usageCount(resourceType: "task") '
        "resources(first: 1) { totalCount } } } }",
        {"id": root["id"]},
    )
    tag = result.ok()["tag"]
    assert tag["childCount"] == 3
    assert [c["name"] for c in tag["children"]] == ["A", "B"]
    assert tag["children"][0] == {
        "name": "A",
        "parent": {"name": "Root"},
        "ancestors": [{"name": "Root"}],
        "usageCount": 0,
        "resources": {"totalCount": 0},
    }
    bad = await gql(
        "query($id: ID!) { tag(id: $id) { children(first: 101) { id } } }", {"id": root["id"]}
    )
    assert bad.error_codes == ["BAD_USER_INPUT"]
