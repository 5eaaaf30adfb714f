"""What a newcomer meets in the first hour: the start-up line, warnings, log lines, errors."""

from __future__ import annotations

import json
import logging
import subprocess

import httpx
import pytest

from cli import tags_admin
from config.settings import Settings
from schema import TagsSchema
from server import create_app
from storage import Store
from tests.harness import Executor, service_env, start_server
from tests.helpers import WS, create_tag

MISSING = "tag_000000000000000000000000"
CREATE_TAGS = """
mutation($input: CreateTagsInput!) {
  createTags(input: $input) { tags { id } userErrors { code field } }
}
"""


async def test_create_tags_lists_user_errors_in_item_order(gql: Executor) -> None:
    await create_tag(gql, "Taken")
    items = [
        {"name": "taken"},  # an existing tag's name: found last, by a store look-up
        {"name": "Child", "parentId": MISSING},  # found when parents are read
        {"name": "Colorless", "color": "nope"},  # found first, by validation
        {"name": "child"},  # repeats item 1's name within the batch
    ]
    result = await gql(CREATE_TAGS, {"input": {"workspaceId": WS, "tags": items}})
    payload = result.ok()["createTags"]
    assert payload["tags"] == []
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["tags", "0", "name"], "NAME_TAKEN"),
        (["tags", "1", "parentId"], "NOT_FOUND"),
        (["tags", "2", "color"], "VALIDATION"),
        (["tags", "3", "name"], "NAME_TAKEN"),
    ]


def test_start_up_line_names_the_graphql_url_and_json_logs_carry_no_ansi() -> None:
    process, url = start_server(output=subprocess.PIPE, **service_env(TAGS_LOG_FORMAT="json"))
    process.terminate()
    output, _ = process.communicate(timeout=15)
    assert "\x1b" not in output
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert entries, output
    assert all("color_message" not in e for e in entries), entries
    started = [e["message"] for e in entries if f"{url}/graphql" in e["message"]]
    assert started, [e["message"] for e in entries]


def test_start_up_line_in_text_logs() -> None:
    process, url = start_server(output=subprocess.PIPE, **service_env())
    process.terminate()
    output, _ = process.communicate(timeout=15)
    assert f"{url}/graphql (Press CTRL+C to quit)" in output, output


WARNING = "every request will be refused"


async def _start_up_log(
    store: Store, caplog: pytest.LogCaptureFixture, settings: Settings
) -> list[str]:
    caplog.clear()
    app = create_app(settings, store=store)
    with caplog.at_level(logging.WARNING, logger="tags"):
        async with app.router.lifespan_context(app):
            pass
    return [r.getMessage() for r in caplog.records if r.name == "tags"]


async def test_required_mode_with_no_way_to_authenticate_warns(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    required = Settings(auth_mode="required")
    logged = await _start_up_log(store, caplog, required)
    assert any(WARNING in m and "TAGS_JWT_SECRET" in m for m in logged), logged

    await tags_admin.create_key(store, "ci", ["tags:read"], ["ws-a"])
    assert not any(WARNING in m for m in await _start_up_log(store, caplog, required))

    # A revoked key authenticates nobody.
    for doc in await store.api_keys.all():
        await store.api_keys.revoke(doc["_id"], doc["createdAt"])
    assert any(WARNING in m for m in await _start_up_log(store, caplog, required))

    for settings in (
        Settings(auth_mode="required", jwt_secret="s" * 32),
        Settings(auth_mode="dev"),
    ):
        assert not any(WARNING in m for m in await _start_up_log(store, caplog, settings))


async def test_graphiql_opens_on_a_query_that_runs_on_the_demo_workspace(
    gql: Executor, store: Store, client: httpx.AsyncClient
) -> None:
    from demo.seed import WORKSPACE, seed_demo
    from edge.graphiql import DEFAULT_QUERY

    page = (await client.get("/graphql", headers={"accept": "text/html"})).text
    assert f"const EXAMPLE_QUERY = `{DEFAULT_QUERY}`;" in page
    assert "Welcome to GraphiQL" not in page
    assert f'workspaceId: "{WORKSPACE}"' in DEFAULT_QUERY

    await seed_demo(store)
    tags = (await gql(DEFAULT_QUERY)).ok()["tags"]
    assert tags["totalCount"] > 0
    assert all("p" in node["name"].lower() for node in tags["nodes"])


def readme_operations() -> list[tuple[str, dict[str, object]]]:
    """Every ```graphql block of the README with the ```json variables after it."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(graphql|json)\n(.*?)```", readme, re.DOTALL)
    found = []
    for i, (kind, text) in enumerate(blocks):
        if kind != "graphql":
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
        found.append((text, json.loads(after[1]) if after[0] == "json" else {}))
    return found


# The demo tag whose id the README's example variables stand for ("tag_…").
PLACEHOLDER_SLUGS = {"tag": "product", "target": "bug", "sources": "crash", "ids": "globex"}


async def placeholder_ids(gql: Executor, key: str, value: object) -> object:
    async def slug_id(slug: str) -> str:
        query = 'query($s: String!) { tagBySlug(workspaceId: "demo", slug: $s) { id } }'
        return str((await gql(query, {"s": slug})).ok()["tagBySlug"]["id"])

    def placeholder(v: object) -> bool:
        return isinstance(v, str) and v.startswith("tag_…")

    if placeholder(value):
        return await slug_id(PLACEHOLDER_SLUGS[key])
    if isinstance(value, list) and value and all(placeholder(v) for v in value):
        return [await slug_id(PLACEHOLDER_SLUGS[key]) for _ in value]
    return value


async def test_every_readme_operation_runs_on_the_demo_with_its_variables(
    gql: Executor, store: Store, schema: TagsSchema
) -> None:
    from graphql import parse, validate

    from demo.seed import seed_demo

    await seed_demo(store)
    operations = readme_operations()
    assert len(operations) >= 8
    for document, variables in operations:
        if document.lstrip().startswith("subscription"):
            assert validate(schema._schema, parse(document)) == []
            continue
        # The README tells the reader to put ids that tagBySlug returned here.
        variables = {
            key: await placeholder_ids(gql, key, value) for key, value in variables.items()
        }
        data = (await gql(document, variables)).ok()
        if "taggedResources" in data:
            assert data["taggedResources"]["totalCount"] > 0
        if "exportTags" in data:
            labels = json.loads(data["exportTags"]["content"])
            assert len(labels) == data["exportTags"]["tagCount"] > 0
            assert all(set(label) == {"name", "color", "description"} for label in labels)
        if "importTags" in data:
            # The README's dry run: a new tag and a changed one, nothing written.
            payload = data["importTags"]
            assert (payload["created"], payload["updated"]) == (1, 1), payload
            regression = 'query { tagByName(workspaceId: "demo", name: "Regression") { id } }'
            assert (await gql(regression)).ok()["tagByName"] is None
        # (1.2) Archive, list the archived tags, restore: each did what it says.
        for field, archived in (("archiveTags", True), ("restoreTags", False)):
            if field in data:
                tags = data[field]["tags"]
                assert tags and all(t["archived"] is archived for t in tags), data
        # (1.2) The history of the README's merge of Crash into Bug.
        if "tagChanges" in data:
            bug = data["tagByName"]
            assert bug["name"] == "Bug", data
            took = [
                c
                for n in bug["history"]["nodes"]
                if n["kind"] == "UPDATED"
                for c in n["changes"]
                if c["field"] == "aliases" and "Crash" in c["after"]
            ]
            assert took, data
            merged = [n for n in data["tagChanges"]["nodes"] if n["kind"] == "MERGED"]
            assert merged and merged[0]["tag"] is None and merged[0]["mergedIntoId"], data
        if "archived: true" in document:
            assert data["tags"]["totalCount"] > 0, data
        for payload in data.values():
            if isinstance(payload, dict) and "userErrors" in payload:
                assert payload["userErrors"] == [], (document, payload)
