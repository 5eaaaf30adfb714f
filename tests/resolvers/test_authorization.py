"""Authorization: the scope matrix and workspace isolation (SERVICE.md, "Authentication
and authorization").

Every Query and Mutation field is run with each single granted scope; an allowed
call must really do its work, a refused one must be FORBIDDEN and change nothing.
A principal confined to workspace A must not be able to tell B's tag ids from ids
that do not exist, nor read or change anything in B.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from resolvers.authorization import ADMIN, READ, TAGGINGS_WRITE, WRITE, Principal
from schema import TagsSchema
from storage import Store
from tests.harness import Executor, GraphQLResult
from tests.helpers import create_tag, tag_resources

WS_A = "ws-a"
WS_B = "ws-b"
# Well-formed (tag_ + 24 lowercase hex digits) but never created.
UNKNOWN_ID = "tag_0123456789abcdef01234567"
UNKNOWN_ID_2 = "tag_fedcba9876543210fedcba98"

SCOPE_RANK = {None: -1, READ: 0, TAGGINGS_WRITE: 1, WRITE: 2, ADMIN: 3}
GRANTS = [None, READ, TAGGINGS_WRITE, WRITE, ADMIN]

USER_ERRORS = "userErrors { code field message }"
TAG = "id name workspaceId"


def principal(
    scope: str | None, workspaces: tuple[str, ...] = (WS_A,), pid: str = "alice"
) -> Principal:
    return Principal(id=pid, scopes=(scope,) if scope else (), workspace_ids=workspaces)


async def raw_snapshot(
    store: Store, workspace: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every stored document of tags and taggings (optionally of one workspace), ordered."""
    query = {} if workspace is None else {"ws": workspace}
    out = {}
    for name in ("tags", "taggings"):
        docs = await getattr(store.database, name)._c.find(query).to_list(None)
        out[name] = sorted(docs, key=lambda d: repr(d.get("_id")))
    return out


@dataclass(frozen=True)
class Attempt:
    """One call made under a granted scope, and the store as it was before the call."""

    result: GraphQLResult
    allowed: bool
    before: dict[str, list[dict[str, Any]]]

    async def changed(self, store: Store) -> bool:
        return await raw_snapshot(store) != self.before

    async def assert_refused(self, store: Store) -> None:
        """A refused call is FORBIDDEN and writes nothing."""
        assert self.result.error_codes == ["FORBIDDEN"], self.result.errors
        assert not await self.changed(store)


async def attempt(
    gql: Executor,
    store: Store,
    query: str,
    variables: dict[str, Any],
    granted: str | None,
    needs: str | None,
) -> Attempt:
    """Call `query` as a principal granted `granted`, for an operation that needs `needs`."""
    before = await raw_snapshot(store)
    result = await gql(query, variables, principal=principal(granted))
    return Attempt(result, SCOPE_RANK[granted] >= SCOPE_RANK[needs], before)


SNAPSHOT_QUERY = f"""
query Snap($ws: ID!) {{
  tags(workspaceId: $ws, filter: {{ archived: null }}, first: 100) {{
    totalCount
    nodes {{
      {TAG} slug color description category metadata createdBy depth updatedAt
      archived archivedAt
      parent {{ id }} childCount usageCount
      resources(first: 100) {{ totalCount nodes {{ type id tagCount }} }}
    }}
  }}
}}
"""


async def api_snapshot(gql: Executor, workspace: str) -> Any:
    """A workspace as the dev principal (every scope, every workspace) sees it."""
    return (await gql(SNAPSHOT_QUERY, {"ws": workspace})).ok()


# Seed data ------------------------------------------------------------------


@dataclass
class Seed:
    alpha: dict[str, Any]
    beta: dict[str, Any]
    child: dict[str, Any]
    # (1.2) An archived tag: left out of `tags`, there for restoreTags.
    retired: dict[str, Any] | None = None


ARCHIVE_IN = (
    "mutation($ws: ID!, $ids: [ID!]!) { archiveTags(input: {workspaceId: $ws, ids: $ids}) "
    "{ userErrors { code } } }"
)


async def seed_workspace(gql: Executor, ws: str) -> Seed:
    alpha = await create_tag(gql, "Alpha", ws)
    beta = await create_tag(gql, "Beta", ws)
    child = await create_tag(gql, "Child", ws, parentId=alpha["id"])
    await tag_resources(gql, [alpha["id"]], [("task", "1")], ws)
    retired = await create_tag(gql, "Retired", ws)
    archived = await gql(ARCHIVE_IN, {"ws": ws, "ids": [retired["id"]]})
    assert archived.ok()["archiveTags"]["userErrors"] == []
    return Seed(alpha, beta, child, retired)


# The scope matrix --------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    name: str
    needs: str | None  # None: any authenticated principal
    query: str
    variables: Callable[[Seed], dict[str, Any]]
    check: Callable[[Any, Seed], Awaitable[None] | None]


def _eq(expected: Any) -> Callable[[Any, object], None]:
    # The probes pass Tenants where the scope matrix passes a Seed; neither is read.
    def check(value: Any, context: object) -> None:
        assert value == expected, value

    return check


def _check_node(value: Any, seed: Seed) -> None:
    assert value == {"id": seed.alpha["id"], "name": "Alpha"}


def _check_nodes(value: Any, seed: Seed) -> None:
    assert value == [
        {"id": seed.alpha["id"], "name": "Alpha"},
        None,
        {"id": seed.beta["id"], "name": "Beta"},
    ]


def _check_tags(value: Any, seed: Seed) -> None:
    assert value["totalCount"] == 3
    assert [n["name"] for n in value["nodes"]] == ["Alpha", "Beta", "Child"]


def _check_tagged(value: Any, seed: Seed) -> None:
    assert value == {"totalCount": 1, "nodes": [{"type": "task", "id": "1"}]}


def _ok(value: Any) -> None:
    assert value["userErrors"] == [], value["userErrors"]


def _check_create(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["tag"]["name"] == "Fresh" and value["tag"]["workspaceId"] == WS_A
    assert value["tag"]["parent"] == {"id": seed.alpha["id"]}


def _check_update(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["tag"] == {"id": seed.beta["id"], "name": "Renamed", "workspaceId": WS_A}


def _check_delete(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["deletedTagIds"] == [seed.beta["id"]]


def _check_create_many(value: Any, seed: Seed) -> None:
    _ok(value)
    assert [t["name"] for t in value["tags"]] == ["One", "Two"]


def _check_delete_many(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["deletedIds"] == [seed.beta["id"]] and value["notFoundIds"] == [UNKNOWN_ID]


def _check_merge(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["tag"]["id"] == seed.alpha["id"] and value["mergedTagIds"] == [seed.beta["id"]]


def _check_add(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["addedCount"] == 1 and value["createdTags"] == []
    assert value["resources"] == [{"type": "task", "id": "2", "tags": [{"name": "Beta"}]}]


def _check_add_create(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["addedCount"] == 2 and [t["name"] for t in value["createdTags"]] == ["Gamma"]
    assert value["resources"] == [
        {"type": "task", "id": "2", "tags": [{"name": "Beta"}, {"name": "Gamma"}]}
    ]


def _check_remove(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["removedCount"] == 1
    assert value["resources"] == [{"type": "task", "id": "1", "tags": []}]


def _check_set(value: Any, seed: Seed) -> None:
    _ok(value)
    assert (value["addedCount"], value["removedCount"]) == (1, 1)
    assert value["resource"] == {"type": "task", "id": "1", "tags": [{"name": "Beta"}]}


def _check_export(value: Any, seed: Seed) -> None:
    # (1.2) Every tag of the workspace, the archived Retired too: the roots, then
    # Child below Alpha.
    assert value["tagCount"] == 4
    assert [line.split(",")[0] for line in value["content"].splitlines()[1:]] == [
        "Alpha",
        "Beta",
        "Retired",
        "Child",
    ]


def _check_changes(value: Any, seed: Seed) -> None:
    # (1.2) The seed's four creations and its archive, newest first; only WS_A's.
    assert seed.retired is not None
    newest = value["nodes"][0]
    assert (newest["kind"], newest["tagId"]) == ("ARCHIVED", seed.retired["id"])
    assert sorted(n["kind"] for n in value["nodes"]) == ["ARCHIVED", *["CREATED"] * 4]
    ids = {seed.alpha["id"], seed.beta["id"], seed.child["id"], seed.retired["id"]}
    assert {n["tagId"] for n in value["nodes"]} == ids


def _check_import(value: Any, seed: Seed) -> None:
    _ok(value)
    assert (value["created"], value["updated"], value["unchanged"]) == (1, 1, 1)
    assert [t["name"] for t in value["tags"]] == ["Imported", "Beta"]


def _check_archive(value: Any, seed: Seed) -> None:
    _ok(value)
    assert value["tags"] == [{"id": seed.beta["id"], "name": "Beta", "archived": True}]
    assert value["notFoundIds"] == [UNKNOWN_ID]


def _check_restore(value: Any, seed: Seed) -> None:
    _ok(value)
    assert seed.retired is not None
    assert value["tags"] == [{"id": seed.retired["id"], "name": "Retired", "archived": False}]
    assert value["notFoundIds"] == []


ARCHIVE_PAYLOAD = f"tags {{ id name archived }} notFoundIds {USER_ERRORS}"


OPS: list[Op] = [
    Op(
        "node",
        READ,
        "query($id: ID!) { node(id: $id) { id ... on Tag { name } } }",
        lambda s: {"id": s.alpha["id"]},
        _check_node,
    ),
    Op(
        "nodes",
        READ,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Tag { name } } }",
        lambda s: {"ids": [s.alpha["id"], UNKNOWN_ID, s.beta["id"]]},
        _check_nodes,
    ),
    Op(
        "tag",
        READ,
        "query($id: ID!) { tag(id: $id) { id name } }",
        lambda s: {"id": s.alpha["id"]},
        _check_node,
    ),
    Op(
        "tagBySlug",
        READ,
        'query($ws: ID!) { tagBySlug(workspaceId: $ws, slug: "alpha") { id name } }',
        lambda s: {"ws": WS_A},
        _check_node,
    ),
    Op(
        "tagByName",
        READ,
        'query($ws: ID!) { tagByName(workspaceId: $ws, name: "ALPHA") { id name } }',
        lambda s: {"ws": WS_A},
        _check_node,
    ),
    Op(
        "tags",
        READ,
        "query($ws: ID!) { tags(workspaceId: $ws) { totalCount nodes { name } } }",
        lambda s: {"ws": WS_A},
        _check_tags,
    ),
    Op(
        "resourceTags",
        READ,
        'query($ws: ID!) { resourceTags(workspaceId: $ws, resource: {type: "task", id: "1"}) '
        "{ id name } }",
        lambda s: {"ws": WS_A},
        lambda v, s: _eq([{"id": s.alpha["id"], "name": "Alpha"}])(v, s),
    ),
    Op(
        "taggedResources",
        READ,
        "query($ws: ID!, $ids: [ID!]!) { taggedResources(workspaceId: $ws, tagIds: $ids) "
        "{ totalCount nodes { type id } } }",
        lambda s: {"ws": WS_A, "ids": [s.alpha["id"]]},
        _check_tagged,
    ),
    Op(
        "similarTags",
        READ,
        'query($ws: ID!) { similarTags(workspaceId: $ws, name: "alpah") { id name } }',
        lambda s: {"ws": WS_A},
        lambda v, s: _eq([{"id": s.alpha["id"], "name": "Alpha"}])(v, s),
    ),
    Op(
        "tags(RELEVANCE)",
        READ,
        'query($ws: ID!) { tags(workspaceId: $ws, filter: {search: "a"}, '
        "orderBy: {field: RELEVANCE}) { totalCount nodes { name } } }",
        lambda s: {"ws": WS_A},
        lambda v, s: _eq({"totalCount": 2, "nodes": [{"name": "Alpha"}, {"name": "Beta"}]})(v, s),
    ),
    Op(
        "tag(related)",
        READ,
        "query($id: ID!) { tag(id: $id) { name related { count tag { name } } } }",
        lambda s: {"id": s.alpha["id"]},
        lambda v, s: _eq({"name": "Alpha", "related": []})(v, s),
    ),
    Op(
        "taggedResources(tagCounts)",
        READ,
        "query($ws: ID!, $ids: [ID!]!) { taggedResources(workspaceId: $ws, tagIds: $ids) "
        "{ tagCounts { count tag { name } } } }",
        lambda s: {"ws": WS_A, "ids": [s.alpha["id"]]},
        lambda v, s: _eq({"tagCounts": [{"count": 1, "tag": {"name": "Alpha"}}]})(v, s),
    ),
    Op(
        "createTag",
        WRITE,
        f"mutation($input: CreateTagInput!) {{ createTag(input: $input) "
        f"{{ tag {{ {TAG} parent {{ id }} }} {USER_ERRORS} }} }}",
        lambda s: {"input": {"workspaceId": WS_A, "name": "Fresh", "parentId": s.alpha["id"]}},
        _check_create,
    ),
    Op(
        "updateTag",
        WRITE,
        f"mutation($input: UpdateTagInput!) {{ updateTag(input: $input) "
        f"{{ tag {{ {TAG} }} {USER_ERRORS} }} }}",
        lambda s: {"input": {"id": s.beta["id"], "name": "Renamed"}},
        _check_update,
    ),
    Op(
        "deleteTag",
        WRITE,
        f"mutation($input: DeleteTagInput!) {{ deleteTag(input: $input) "
        f"{{ deletedTagIds removedTaggingsCount {USER_ERRORS} }} }}",
        lambda s: {"input": {"id": s.beta["id"]}},
        _check_delete,
    ),
    Op(
        "createTags",
        WRITE,
        f"mutation($input: CreateTagsInput!) {{ createTags(input: $input) "
        f"{{ tags {{ {TAG} }} {USER_ERRORS} }} }}",
        lambda s: {"input": {"workspaceId": WS_A, "tags": [{"name": "One"}, {"name": "Two"}]}},
        _check_create_many,
    ),
    Op(
        "deleteTags",
        WRITE,
        f"mutation($input: DeleteTagsInput!) {{ deleteTags(input: $input) "
        f"{{ deletedCount deletedIds notFoundIds {USER_ERRORS} }} }}",
        lambda s: {"input": {"workspaceId": WS_A, "ids": [s.beta["id"], UNKNOWN_ID]}},
        _check_delete_many,
    ),
    Op(
        "mergeTags",
        WRITE,
        f"mutation($input: MergeTagsInput!) {{ mergeTags(input: $input) "
        f"{{ tag {{ {TAG} }} mergedTagIds movedTaggingsCount {USER_ERRORS} }} }}",
        lambda s: {"input": {"targetId": s.alpha["id"], "sourceIds": [s.beta["id"]]}},
        _check_merge,
    ),
    Op(
        "addTagsToResources",
        TAGGINGS_WRITE,
        f"mutation($input: AddTagsToResourcesInput!) {{ addTagsToResources(input: $input) "
        f"{{ resources {{ type id tags {{ name }} }} createdTags {{ name }} addedCount "
        f"{USER_ERRORS} }} }}",
        lambda s: {
            "input": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "2"}],
                "tagIds": [s.beta["id"]],
            }
        },
        _check_add,
    ),
    Op(
        "addTagsToResources(createMissing)",
        WRITE,
        f"mutation($input: AddTagsToResourcesInput!) {{ addTagsToResources(input: $input) "
        f"{{ resources {{ type id tags {{ name }} }} createdTags {{ name }} addedCount "
        f"{USER_ERRORS} }} }}",
        lambda s: {
            "input": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "2"}],
                "tagIds": [s.beta["id"]],
                "tagNames": ["Gamma"],
                "createMissing": True,
            }
        },
        _check_add_create,
    ),
    Op(
        "removeTagsFromResources",
        TAGGINGS_WRITE,
        f"mutation($input: RemoveTagsFromResourcesInput!) {{ "
        f"removeTagsFromResources(input: $input) "
        f"{{ resources {{ type id tags {{ name }} }} removedCount {USER_ERRORS} }} }}",
        lambda s: {
            "input": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "1"}],
                "tagIds": [s.alpha["id"]],
            }
        },
        _check_remove,
    ),
    Op(
        "setResourceTags",
        TAGGINGS_WRITE,
        f"mutation($input: SetResourceTagsInput!) {{ setResourceTags(input: $input) "
        f"{{ resource {{ type id tags {{ name }} }} addedCount removedCount {USER_ERRORS} }} }}",
        lambda s: {
            "input": {
                "workspaceId": WS_A,
                "resource": {"type": "task", "id": "1"},
                "tagIds": [s.beta["id"]],
            }
        },
        _check_set,
    ),
    Op(
        "exportTags",
        READ,
        "query($ws: ID!) { exportTags(workspaceId: $ws, format: CSV) { content tagCount } }",
        lambda s: {"ws": WS_A},
        _check_export,
    ),
    Op(
        "tagChanges",
        READ,
        "query($ws: ID!) { tagChanges(workspaceId: $ws) { nodes { kind tagId } } }",
        lambda s: {"ws": WS_A},
        _check_changes,
    ),
    Op(
        "importTags",
        WRITE,
        f"mutation($input: ImportTagsInput!) {{ importTags(input: $input) "
        f"{{ created updated unchanged tags {{ {TAG} }} {USER_ERRORS} }} }}",
        lambda s: {
            "input": {
                "workspaceId": WS_A,
                "format": "CSV",
                "content": "name,parent,description\r\nImported,alpha,\r\nBeta,,b\r\nChild,,\r\n",
            }
        },
        _check_import,
    ),
    Op(
        "tags(archived)",
        READ,
        "query($ws: ID!) { tags(workspaceId: $ws, filter: {archived: true}) "
        "{ totalCount nodes { name archived } } }",
        lambda s: {"ws": WS_A},
        lambda v, s: _eq({"totalCount": 1, "nodes": [{"name": "Retired", "archived": True}]})(v, s),
    ),
    Op(
        "archiveTags",
        WRITE,
        f"mutation($input: ArchiveTagsInput!) {{ archiveTags(input: $input) {{ {ARCHIVE_PAYLOAD} }} }}",
        lambda s: {"input": {"workspaceId": WS_A, "ids": [s.beta["id"], UNKNOWN_ID]}},
        _check_archive,
    ),
    Op(
        "restoreTags",
        WRITE,
        f"mutation($input: ArchiveTagsInput!) {{ restoreTags(input: $input) {{ {ARCHIVE_PAYLOAD} }} }}",
        lambda s: {"input": {"workspaceId": WS_A, "ids": [s.retired["id"] if s.retired else ""]}},
        _check_restore,
    ),
]

MUTATIONS = {
    "createTag",
    "updateTag",
    "deleteTag",
    "createTags",
    "deleteTags",
    "mergeTags",
    "addTagsToResources",
    "removeTagsFromResources",
    "setResourceTags",
    "importTags",
    "archiveTags",
    "restoreTags",
}


def _field(op: Op) -> str:
    return op.name.split("(")[0]


def test_matrix_covers_every_query_and_mutation_field(schema: TagsSchema) -> None:
    """The matrix below must not silently miss a field added to the schema."""
    query_type, mutation_type = schema._schema.query_type, schema._schema.mutation_type
    assert query_type is not None and mutation_type is not None
    query_fields = set(query_type.fields)
    mutation_fields = set(mutation_type.fields)
    covered = {_field(op) for op in OPS} | {"viewer"}
    assert query_fields <= covered, query_fields - covered
    assert mutation_fields <= covered, mutation_fields - covered
    assert mutation_fields == MUTATIONS


@pytest.mark.parametrize("granted", GRANTS, ids=lambda g: g or "no-scope")
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
async def test_scope_matrix(gql: Executor, store: Store, op: Op, granted: str | None) -> None:
    seed = await seed_workspace(gql, WS_A)
    tried = await attempt(gql, store, op.query, op.variables(seed), granted, op.needs)
    result = tried.result
    field = _field(op)
    if tried.allowed:
        data = result.ok()
        outcome = op.check(data[field], seed)
        if outcome is not None:
            await outcome
        if field not in MUTATIONS:
            assert not await tried.changed(store)
        else:
            assert await tried.changed(store), "an allowed mutation changed nothing"
    else:
        await tried.assert_refused(store)
        assert result.errors[0]["path"] == [field]
        assert result.data is None or result.data.get(field) is None


VIEWER = "{ viewer { id scopes workspaceIds } }"


@pytest.mark.parametrize("granted", GRANTS, ids=lambda g: g or "no-scope")
async def test_viewer_needs_only_authentication(gql: Executor, granted: str | None) -> None:
    result = await gql(VIEWER, principal=principal(granted))
    assert result.ok()["viewer"] == {
        "id": "alice",
        "scopes": [granted] if granted else [],
        "workspaceIds": [WS_A],
    }


@pytest.mark.parametrize(
    "scopes",
    [(ADMIN,), (WRITE,), (TAGGINGS_WRITE,), (WRITE, READ), (READ, ADMIN)],
    ids=lambda s: "+".join(s),
)
async def test_viewer_lists_scopes_as_granted_not_expanded(
    gql: Executor, scopes: tuple[str, ...]
) -> None:
    p = Principal(id="key_123", scopes=scopes, workspace_ids=("*",))
    viewer = (await gql(VIEWER, principal=p)).ok()["viewer"]
    assert viewer == {"id": "key_123", "scopes": list(scopes), "workspaceIds": ["*"]}


# Authorization comes before input validation: a caller without the scope learns
# nothing from the input rules, and gets the contract's FORBIDDEN.


BAD_INPUT_OPS = [
    pytest.param(
        'mutation { mergeTags(input: {targetId: "%(a)s", sourceIds: ["%(a)s"]}) '
        "{ userErrors { code } } }",
        READ,
        id="mergeTags-target-among-sources",
    ),
    pytest.param(
        'mutation { mergeTags(input: {targetId: "%(a)s", sourceIds: []}) { userErrors { code } } }',
        TAGGINGS_WRITE,
        id="mergeTags-no-sources",
    ),
    pytest.param(
        'mutation { updateTag(input: {id: "%(a)s"}) { userErrors { code } } }',
        TAGGINGS_WRITE,
        id="updateTag-nothing-to-change",
    ),
    pytest.param(
        'mutation { createTags(input: {workspaceId: "ws-a", tags: []}) { userErrors { code } } }',
        TAGGINGS_WRITE,
        id="createTags-empty",
    ),
    pytest.param(
        'mutation { deleteTags(input: {workspaceId: "ws-a", ids: []}) { userErrors { code } } }',
        READ,
        id="deleteTags-empty",
    ),
    pytest.param(
        'mutation { createTag(input: {workspaceId: "ws-a", name: "  "}) { userErrors { code } } }',
        TAGGINGS_WRITE,
        id="createTag-blank-name",
    ),
    pytest.param(
        'mutation { archiveTags(input: {workspaceId: "ws-a", ids: []}) { userErrors { code } } }',
        TAGGINGS_WRITE,
        id="archiveTags-no-ids",
    ),
    pytest.param(
        'mutation { restoreTags(input: {workspaceId: "ws-a", ids: [%(many)s]}) '
        "{ userErrors { code } } }",
        READ,
        id="restoreTags-too-many-ids",
    ),
    pytest.param(
        'mutation { addTagsToResources(input: {workspaceId: "ws-a", resources: [], '
        'tagNames: ["x"], createMissing: true}) { userErrors { code } } }',
        TAGGINGS_WRITE,
        id="addTags-createMissing-no-resources",
    ),
    pytest.param(
        'mutation { setResourceTags(input: {workspaceId: "ws-a", '
        'resource: {type: "9", id: ""}, tagIds: []}) { userErrors { code } } }',
        READ,
        id="setResourceTags-bad-resource",
    ),
    pytest.param(
        '{ tags(workspaceId: "ws-a", first: -1) { totalCount } }',
        None,
        id="tags-bad-first",
    ),
    pytest.param(
        '{ tags(workspaceId: "ws-a", filter: {search: "a\\u0000b"}) { totalCount } }',
        None,
        id="tags-control-char-search",
    ),
    pytest.param(
        '{ tags(workspaceId: "ws-a", filter: {ids: [%(many)s]}) { totalCount } }',
        None,
        id="tags-too-many-filter-ids",
    ),
    pytest.param(
        '{ taggedResources(workspaceId: "ws-a", tagIds: []) { totalCount } }',
        None,
        id="taggedResources-no-ids",
    ),
    pytest.param(
        "{ nodes(ids: [%(many)s]) { id } }",
        None,
        id="nodes-too-many-ids",
    ),
    pytest.param(
        '{ resourceTags(workspaceId: "ws-a", resource: {type: "", id: "1"}) { id } }',
        None,
        id="resourceTags-bad-resource",
    ),
]


@pytest.mark.parametrize(("template", "granted"), BAD_INPUT_OPS)
async def test_missing_scope_is_forbidden_before_input_is_validated(
    gql: Executor, store: Store, template: str, granted: str | None
) -> None:
    seed = await seed_workspace(gql, WS_A)
    many = ", ".join(f'"{UNKNOWN_ID}"' for _ in range(101))
    before = await raw_snapshot(store)
    query = template % {"a": seed.alpha["id"], "many": many}
    result = await gql(query, principal=principal(granted))
    assert result.error_codes == ["FORBIDDEN"], (result.errors, result.data)
    assert await raw_snapshot(store) == before


# Workspace isolation ------------------------------------------------------------


@dataclass
class Tenants:
    a: Seed
    b: Seed
    b_grandchild: dict[str, Any]


@pytest.fixture
async def tenants(gql: Executor) -> Tenants:
    a = await seed_workspace(gql, WS_A)
    b = await seed_workspace(gql, WS_B)
    grandchild = await create_tag(gql, "Grandchild", WS_B, parentId=b.child["id"])
    # The same resource key in B carries more tags than in A.
    await tag_resources(gql, [b.beta["id"], grandchild["id"]], [("task", "1"), ("task", "2")], WS_B)
    return Tenants(a, b, grandchild)


ALICE = Principal(id="alice", scopes=(ADMIN,), workspace_ids=(WS_A, "ws-c"))


@dataclass(frozen=True)
class Probe:
    """An operation run once with a foreign id and once with an unknown id."""

    name: str
    query: str
    variables: Callable[[Tenants, str], dict[str, Any]]
    expect: Callable[[Any, Tenants, str], None]


def _tags_names(value: Any) -> list[str]:
    return [n["name"] for n in value["tags"]["nodes"]]


def _user_errors(value: Any, field: str, *paths: list[str]) -> None:
    payload = value[field]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("NOT_FOUND", p) for p in paths
    ], payload
    for key, item in payload.items():
        if key == "userErrors":
            continue
        assert item in (None, [], 0), (key, item)


PROBES: list[Probe] = [
    Probe(
        "tag",
        "query($id: ID!) { tag(id: $id) { id name } }",
        lambda t, x: {"id": x},
        lambda v, t, x: _eq({"tag": None})(v, t),
    ),
    Probe(
        "node",
        "query($id: ID!) { node(id: $id) { id } }",
        lambda t, x: {"id": x},
        lambda v, t, x: _eq({"node": None})(v, t),
    ),
    Probe(
        "nodes",
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        lambda t, x: {"ids": [t.a.alpha["id"], x]},
        lambda v, t, x: _eq({"nodes": [{"id": t.a.alpha["id"]}, None]})(v, t),
    ),
    Probe(
        "tags(filter.ids)",
        'query($ids: [ID!]) { tags(workspaceId: "ws-a", filter: {ids: $ids}) '
        "{ totalCount nodes { name } } }",
        lambda t, x: {"ids": [x, t.a.beta["id"]]},
        lambda v, t, x: _eq(["Beta"])(_tags_names(v), t),
    ),
    Probe(
        "tags(filter.parentId)",
        'query($id: ID) { tags(workspaceId: "ws-a", filter: {parentId: $id}) '
        "{ totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        lambda v, t, x: _eq({"tags": {"totalCount": 0, "nodes": []}})(v, t),
    ),
    Probe(
        "tags(filter.descendantOf)",
        'query($id: ID) { tags(workspaceId: "ws-a", filter: {descendantOf: $id}) '
        "{ totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        lambda v, t, x: _eq({"tags": {"totalCount": 0, "nodes": []}})(v, t),
    ),
    Probe(
        "taggedResources(ANY)",
        'query($ids: [ID!]!) { taggedResources(workspaceId: "ws-a", tagIds: $ids, '
        "includeDescendants: true) { totalCount nodes { type id tags { name } } } }",
        lambda t, x: {"ids": [x]},
        lambda v, t, x: _eq({"taggedResources": {"totalCount": 0, "nodes": []}})(v, t),
    ),
    Probe(
        "taggedResources(ALL)",
        'query($ids: [ID!]!) { taggedResources(workspaceId: "ws-a", tagIds: $ids, match: ALL) '
        "{ totalCount } }",
        lambda t, x: {"ids": [t.a.alpha["id"], x]},
        lambda v, t, x: _eq({"taggedResources": {"totalCount": 0}})(v, t),
    ),
    Probe(
        "updateTag(id)",
        f"mutation($input: UpdateTagInput!) {{ updateTag(input: $input) "
        f"{{ tag {{ id }} {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"id": x, "name": "Hijacked", "metadata": {"owned": True}}},
        lambda v, t, x: _user_errors(v, "updateTag", ["id"]),
    ),
    Probe(
        "updateTag(parentId)",
        f"mutation($input: UpdateTagInput!) {{ updateTag(input: $input) "
        f"{{ tag {{ id }} {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"id": t.a.beta["id"], "parentId": x}},
        lambda v, t, x: _user_errors(v, "updateTag", ["parentId"]),
    ),
    Probe(
        "deleteTag",
        f"mutation($input: DeleteTagInput!) {{ deleteTag(input: $input) "
        f"{{ deletedTagIds removedTaggingsCount {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"id": x, "deleteDescendants": True}},
        lambda v, t, x: _user_errors(v, "deleteTag", ["id"]),
    ),
    Probe(
        "deleteTags",
        f"mutation($input: DeleteTagsInput!) {{ deleteTags(input: $input) "
        f"{{ deletedCount deletedIds notFoundIds {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"workspaceId": WS_A, "ids": [x]}},
        lambda v, t, x: _eq(
            {
                "deleteTags": {
                    "deletedCount": 0,
                    "deletedIds": [],
                    "notFoundIds": [x],
                    "userErrors": [],
                }
            }
        )(v, t),
    ),
    Probe(
        "mergeTags(targetId)",
        f"mutation($input: MergeTagsInput!) {{ mergeTags(input: $input) "
        f"{{ tag {{ id }} mergedTagIds movedTaggingsCount {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"targetId": x, "sourceIds": [t.a.beta["id"]]}},
        lambda v, t, x: _user_errors(v, "mergeTags", ["targetId"]),
    ),
    Probe(
        "mergeTags(sourceIds)",
        f"mutation($input: MergeTagsInput!) {{ mergeTags(input: $input) "
        f"{{ tag {{ id }} mergedTagIds movedTaggingsCount {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"targetId": t.a.alpha["id"], "sourceIds": [t.a.beta["id"], x]}},
        lambda v, t, x: _user_errors(v, "mergeTags", ["sourceIds", "1"]),
    ),
    Probe(
        "createTag(parentId)",
        f"mutation($input: CreateTagInput!) {{ createTag(input: $input) "
        f"{{ tag {{ id }} {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"workspaceId": WS_A, "name": "Intruder", "parentId": x}},
        lambda v, t, x: _user_errors(v, "createTag", ["parentId"]),
    ),
    Probe(
        "createTags(parentId)",
        f"mutation($input: CreateTagsInput!) {{ createTags(input: $input) "
        f"{{ tags {{ id }} {USER_ERRORS} }} }}",
        lambda t, x: {
            "input": {
                "workspaceId": WS_A,
                "tags": [{"name": "Fine"}, {"name": "Intruder", "parentId": x}],
            }
        },
        lambda v, t, x: _user_errors(v, "createTags", ["tags", "1", "parentId"]),
    ),
    Probe(
        "addTagsToResources(tagIds)",
        f"mutation($input: AddTagsToResourcesInput!) {{ addTagsToResources(input: $input) "
        f"{{ resources {{ id }} createdTags {{ id }} addedCount {USER_ERRORS} }} }}",
        lambda t, x: {
            "input": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "9"}],
                "tagIds": [t.a.beta["id"], x],
            }
        },
        lambda v, t, x: _user_errors(v, "addTagsToResources", ["tagIds", "1"]),
    ),
    Probe(
        "removeTagsFromResources(tagIds)",
        f"mutation($input: RemoveTagsFromResourcesInput!) {{ "
        f"removeTagsFromResources(input: $input) "
        f"{{ resources {{ id }} removedCount {USER_ERRORS} }} }}",
        lambda t, x: {
            "input": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "1"}, {"type": "task", "id": "2"}],
                "tagIds": [x],
            }
        },
        lambda v, t, x: _user_errors(v, "removeTagsFromResources", ["tagIds", "0"]),
    ),
    Probe(
        "setResourceTags(tagIds)",
        f"mutation($input: SetResourceTagsInput!) {{ setResourceTags(input: $input) "
        f"{{ resource {{ id }} addedCount removedCount {USER_ERRORS} }} }}",
        lambda t, x: {
            "input": {
                "workspaceId": WS_A,
                "resource": {"type": "task", "id": "1"},
                "tagIds": [x],
            }
        },
        lambda v, t, x: _user_errors(v, "setResourceTags", ["tagIds", "0"]),
    ),
]


def _not_found_only(field: str) -> Callable[[Any, Tenants, str], None]:
    """An archive or restore that named only `x`: nothing found, no error (as deleteTags)."""

    def check(value: Any, t: Tenants, x: str) -> None:
        assert value == {field: {"tags": [], "notFoundIds": [x], "userErrors": []}}, value

    return check


PROBES += [
    Probe(
        "archiveTags",
        f"mutation($input: ArchiveTagsInput!) {{ archiveTags(input: $input) "
        f"{{ tags {{ id }} notFoundIds {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"workspaceId": WS_A, "ids": [x]}},
        _not_found_only("archiveTags"),
    ),
    Probe(
        "restoreTags",
        f"mutation($input: ArchiveTagsInput!) {{ restoreTags(input: $input) "
        f"{{ tags {{ id }} notFoundIds {USER_ERRORS} }} }}",
        lambda t, x: {"input": {"workspaceId": WS_A, "ids": [x]}},
        _not_found_only("restoreTags"),
    ),
]


def _foreign_ids(t: Tenants) -> dict[str, str]:
    return {
        "root": t.b.alpha["id"],  # tagged, has a child
        "leaf": t.b.beta["id"],  # tagged on both resources
        "middle": t.b.child["id"],  # has a parent and a child
        "archived": t.b.retired["id"] if t.b.retired else "",  # (1.2) restoreTags' target
    }


def _neutral(value: Any, replace: dict[str, str]) -> Any:
    """The response with the probed id replaced by a placeholder, for comparison."""
    if isinstance(value, str):
        return replace.get(value, value)
    if isinstance(value, list):
        return [_neutral(v, replace) for v in value]
    if isinstance(value, dict):
        return {k: _neutral(v, replace) for k, v in value.items()}
    return value


@pytest.mark.parametrize("which", ["root", "leaf", "middle", "archived"])
@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
async def test_foreign_tag_id_behaves_exactly_like_an_unknown_id(
    gql: Executor, store: Store, tenants: Tenants, probe: Probe, which: str
) -> None:
    foreign = _foreign_ids(tenants)[which]
    b_before = await api_snapshot(gql, WS_B)
    raw_before = await raw_snapshot(store)

    seen_foreign = await gql(probe.query, probe.variables(tenants, foreign), principal=ALICE)
    assert await raw_snapshot(store) == raw_before
    seen_unknown = await gql(probe.query, probe.variables(tenants, UNKNOWN_ID), principal=ALICE)
    assert await raw_snapshot(store) == raw_before

    probe.expect(seen_foreign.ok(), tenants, foreign)
    probe.expect(seen_unknown.ok(), tenants, UNKNOWN_ID)
    # Same shape, same codes, same messages: nothing tells the two apart.
    assert _neutral(seen_foreign.data, {foreign: "<id>"}) == _neutral(
        seen_unknown.data, {UNKNOWN_ID: "<id>"}
    )
    assert await api_snapshot(gql, WS_B) == b_before


async def test_a_principal_for_every_workspace_does_see_workspace_b(
    gql: Executor, tenants: Tenants
) -> None:
    """Control for the isolation tests: B's ids are real and reachable with access."""
    everyone = Principal(id="root", scopes=(READ,), workspace_ids=("*",))
    both = Principal(id="two", scopes=(READ,), workspace_ids=(WS_A, WS_B))
    for p in (everyone, both):
        found = (
            await gql(
                "query($id: ID!) { tag(id: $id) { name } }",
                {"id": tenants.b.alpha["id"]},
                principal=p,
            )
        ).ok()
        assert found == {"tag": {"name": "Alpha"}}


async def test_a_foreign_id_alongside_own_ids_changes_nothing_anywhere(
    gql: Executor, store: Store, tenants: Tenants
) -> None:
    """deleteTags with a mix: own ids are deleted, the foreign one is reported not found."""
    foreign = tenants.b.beta["id"]
    b_before = await raw_snapshot(store, WS_B)
    result = await gql(
        "mutation($input: DeleteTagsInput!) { deleteTags(input: $input) "
        "{ deletedIds notFoundIds userErrors { code } } }",
        {"input": {"workspaceId": WS_A, "ids": [tenants.a.beta["id"], foreign, UNKNOWN_ID_2]}},
        principal=ALICE,
    )
    assert result.ok()["deleteTags"] == {
        "deletedIds": [tenants.a.beta["id"]],
        "notFoundIds": [foreign, UNKNOWN_ID_2],
        "userErrors": [],
    }
    assert await raw_snapshot(store, WS_B) == b_before


async def test_resource_reads_in_own_workspace_ignore_other_workspaces(
    gql: Executor, tenants: Tenants
) -> None:
    """task:1 and task:2 exist in both workspaces; A's views show A's tags only."""
    seen = (
        await gql(
            '{ resourceTags(workspaceId: "ws-a", resource: {type: "task", id: "1"}) '
            "{ name workspaceId } "
            'tags(workspaceId: "ws-a") { nodes { name usageCount childCount '
            "children { workspaceId } resources { totalCount nodes { id tagCount } } } } }",
            principal=ALICE,
        )
    ).ok()
    assert seen["resourceTags"] == [{"name": "Alpha", "workspaceId": WS_A}]
    by_name = {n["name"]: n for n in seen["tags"]["nodes"]}
    assert by_name["Alpha"]["usageCount"] == 1
    assert by_name["Alpha"]["resources"] == {"totalCount": 1, "nodes": [{"id": "1", "tagCount": 1}]}
    assert by_name["Beta"]["usageCount"] == 0 and by_name["Beta"]["resources"]["totalCount"] == 0
    assert by_name["Alpha"]["children"] == [{"workspaceId": WS_A}]
    assert by_name["Alpha"]["childCount"] == 1


NAMING_B = [
    pytest.param('query { tags(workspaceId: "ws-b") { totalCount } }', id="tags"),
    pytest.param('query { tagBySlug(workspaceId: "ws-b", slug: "alpha") { id } }', id="tagBySlug"),
    pytest.param('query { tagByName(workspaceId: "ws-b", name: "alpha") { id } }', id="tagByName"),
    pytest.param(
        'query { tagBySlug(workspaceId: "ws-b", slug: "no-such") { id } }', id="tagBySlug-missing"
    ),
    pytest.param(
        'query { resourceTags(workspaceId: "ws-b", resource: {type: "task", id: "1"}) { id } }',
        id="resourceTags",
    ),
    pytest.param(
        'query { taggedResources(workspaceId: "ws-b", tagIds: ["%(b_alpha)s"]) { totalCount } }',
        id="taggedResources",
    ),
    pytest.param(
        'mutation { createTag(input: {workspaceId: "ws-b", name: "Planted"}) { tag { id } } }',
        id="createTag",
    ),
    pytest.param(
        'mutation { createTags(input: {workspaceId: "ws-b", tags: [{name: "Planted"}]}) '
        "{ tags { id } } }",
        id="createTags",
    ),
    pytest.param(
        'mutation { deleteTags(input: {workspaceId: "ws-b", ids: ["%(b_alpha)s"]}) '
        "{ deletedIds } }",
        id="deleteTags",
    ),
    pytest.param(
        'mutation { addTagsToResources(input: {workspaceId: "ws-b", '
        'resources: [{type: "task", id: "7"}], tagIds: ["%(b_alpha)s"]}) { addedCount } }',
        id="addTagsToResources",
    ),
    pytest.param(
        'mutation { addTagsToResources(input: {workspaceId: "ws-b", '
        'resources: [{type: "task", id: "7"}], tagNames: ["New"], createMissing: true}) '
        "{ addedCount } }",
        id="addTagsToResources-createMissing",
    ),
    pytest.param(
        'mutation { removeTagsFromResources(input: {workspaceId: "ws-b", '
        'resources: [{type: "task", id: "1"}], tagIds: ["%(b_alpha)s"]}) { removedCount } }',
        id="removeTagsFromResources",
    ),
    pytest.param(
        'mutation { setResourceTags(input: {workspaceId: "ws-b", '
        'resource: {type: "task", id: "1"}, tagIds: []}) { removedCount } }',
        id="setResourceTags",
    ),
    pytest.param(
        'mutation { archiveTags(input: {workspaceId: "ws-b", ids: ["%(b_alpha)s"]}) '
        "{ notFoundIds } }",
        id="archiveTags",
    ),
    pytest.param(
        'mutation { restoreTags(input: {workspaceId: "ws-b", ids: ["%(b_alpha)s"]}) '
        "{ notFoundIds } }",
        id="restoreTags",
    ),
    pytest.param(
        'query { tags(workspaceId: "ws-b", filter: {archived: true}) { totalCount } }',
        id="tags-archived",
    ),
]


@pytest.mark.parametrize("template", NAMING_B)
async def test_naming_a_foreign_workspace_is_forbidden(
    gql: Executor, store: Store, tenants: Tenants, template: str
) -> None:
    before = await raw_snapshot(store)
    b_before = await api_snapshot(gql, WS_B)
    result = await gql(template % {"b_alpha": tenants.b.alpha["id"]}, principal=ALICE)
    assert result.error_codes == ["FORBIDDEN"], result.errors
    assert result.data is None or set(result.data.values()) == {None}, result.data
    assert await raw_snapshot(store) == before
    assert await api_snapshot(gql, WS_B) == b_before


async def test_foreign_workspace_is_forbidden_even_for_an_unused_workspace_id(
    gql: Executor, store: Store
) -> None:
    """Forbidden does not depend on whether the workspace has data."""
    before = await raw_snapshot(store)
    # "*" and "ws-a " are not workspace ids at all: refused as malformed, whoever asks.
    for ws, code in (
        ("ws-empty", "FORBIDDEN"),
        ("WS-A", "FORBIDDEN"),
        ("*", "BAD_USER_INPUT"),
        ("ws-a ", "BAD_USER_INPUT"),
    ):
        result = await gql(
            'mutation($ws: ID!) { createTag(input: {workspaceId: $ws, name: "X"}) { tag { id } } }',
            {"ws": ws},
            principal=ALICE,
        )
        assert result.error_codes == [code], (ws, result.errors)
    assert await raw_snapshot(store) == before


async def test_foreign_workspace_data_unchanged_after_every_probe(
    gql: Executor, store: Store, tenants: Tenants
) -> None:
    """All probes in one request sequence, then B compared document by document."""
    b_before = copy.deepcopy(await raw_snapshot(store, WS_B))
    api_before = await api_snapshot(gql, WS_B)
    for probe in PROBES:
        for foreign in _foreign_ids(tenants).values():
            await gql(probe.query, probe.variables(tenants, foreign), principal=ALICE)
    for param in NAMING_B:
        template = param.values[0]
        assert isinstance(template, str)
        await gql(template % {"b_alpha": tenants.b.alpha["id"]}, principal=ALICE)
    assert await raw_snapshot(store, WS_B) == b_before
    assert await api_snapshot(gql, WS_B) == api_before


ADD_BY_NAME = (
    "mutation($input: AddTagsToResourcesInput!) { addTagsToResources(input: $input) "
    "{ resources { type id tags { name workspaceId } } createdTags { name workspaceId } "
    "addedCount userErrors { code field message } } }"
)


async def test_tag_names_only_match_in_the_named_workspace(
    gql: Executor, store: Store, tenants: Tenants
) -> None:
    """A name that exists only in B is, for A, a name that does not exist."""
    b_before = await raw_snapshot(store, WS_B)

    async def add(name: str, create_missing: bool) -> Any:
        variables = {
            "input": {
                "workspaceId": WS_A,
                "resources": [{"type": "task", "id": "5"}],
                "tagNames": [name],
                "createMissing": create_missing,
            }
        }
        return (await gql(ADD_BY_NAME, variables, principal=ALICE)).ok()["addTagsToResources"]

    only_in_b = await add("grandchild", False)
    nowhere = await add("No Such Name", False)
    assert only_in_b == nowhere
    assert [(e["code"], e["field"]) for e in only_in_b["userErrors"]] == [
        ("NOT_FOUND", ["tagNames", "0"])
    ]
    created = await add("Grandchild", True)
    assert created["userErrors"] == []
    assert created["createdTags"] == [{"name": "Grandchild", "workspaceId": WS_A}]
    assert created["resources"][0]["tags"] == [{"name": "Grandchild", "workspaceId": WS_A}]
    assert await raw_snapshot(store, WS_B) == b_before
