"""Every query shape is served by an index, by MongoDB's planning rules.

Two halves: every shape listed in storage/query_shapes/ passes the rules
(equality prefix, then the sort keys in the same or exactly reversed
directions, then ranges), and every find/count/aggregate/update/delete command
the storage layer sends while a representative set of operations runs matches a
listed shape, and every listed shape is sent at least once. A query the list
does not know, or a listed shape no code sends, fails here.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo import monitoring

from resolvers.authorization import ADMIN, READ, Principal
from resolvers.clock import now
from resolvers.taggings import queries
from resolvers.taggings.queries import BATCHED_USAGE
from schema import TagsSchema
from storage import AuthorizedWorkspace, Store
from storage.query_shapes import (
    API_KEYS,
    ID,
    INDEXES,
    ORDERS,
    SHAPES,
    TAG_BY_ANCESTOR,
    TAG_BY_PARENT,
    TAG_BY_USAGE,
    TAG_CHANGES,
    TAG_FILTERS,
    TAG_NAME_KEYS_UNIQUE,
    TAGS,
    Shape,
    Signature,
    describe,
    match,
    order_sort,
    signatures_of,
    violations,
)
from storage.repair import complete_removals, fix_paths, recount, repair
from storage.taggings import tagging_doc
from tests.harness import Executor, open_test_store
from tests.helpers import OTHER_WS, WS, create_tag, tag_resources

# The rules ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_shape_is_served_by_an_index(shape: Shape) -> None:
    assert violations(shape) == []


def test_every_declared_index_serves_a_shape() -> None:
    used = {s.index for s in SHAPES} | {i for s in SHAPES for _, i in s.or_branches}
    assert [ix.index_name for ix in INDEXES if ix not in used] == []


def test_index_names_are_distinct_per_collection() -> None:
    names = [(ix.collection, ix.index_name) for ix in INDEXES]
    assert len(names) == len(set(names))


def test_the_rules_reject_what_the_issue_found() -> None:
    name_sort = tuple(order_sort("NAME", False))
    # NAME order on the unique names index alone: a blocking sort.
    assert violations(
        Shape("x", TAGS, "find", TAG_NAME_KEYS_UNIQUE, equality=("ws",), sort=name_sort)
    )
    # USAGE_COUNT DESC keeps name ties ascending: mixed directions on an ascending index.
    usage_desc = tuple(order_sort("USAGE_COUNT", True))
    assert violations(Shape("x", TAGS, "find", TAG_BY_USAGE, equality=("ws",), sort=usage_desc))
    # Children filtered on parentId alone: the index starts with ws.
    assert violations(Shape("x", TAGS, "find", TAG_BY_PARENT, equality=("parentId",)))
    # A range before the sort keys.
    assert violations(
        Shape(
            "x", TAGS, "find", TAG_BY_PARENT, equality=("ws",), ranges=("parentId",), sort=name_sort
        )
    )
    # A range on a key the equality prefix does not reach.
    assert violations(Shape("x", TAGS, "find", TAG_BY_PARENT, equality=("ws",), ranges=("_id",)))
    # No index at all, outside repair.
    assert violations(Shape("x", TAGS, "find", None, equality=("ws",)))
    # A sort on a multikey field.
    assert violations(
        Shape("x", TAGS, "find", TAG_BY_ANCESTOR, equality=("ws",), sort=(("ancestors", 1),))
    )
    # A sort the index does not continue with.
    assert violations(
        Shape("x", API_KEYS, "find", ID[API_KEYS], equality=("_id",), sort=(("createdAt", 1),))
    )


def test_matching_tells_shapes_apart() -> None:
    page = Signature(TAGS, "find", equality={"ws": 1}, sort=tuple(order_sort("NAME", True)))
    shape = match(page)
    assert shape is not None and shape.name == "tags.page.NAME.desc"
    # The same sort after an $in of several parents would need a merge of many scans.
    many_parents = Signature(
        TAGS, "find", equality={"ws": 1, "parentId": 3}, sort=tuple(order_sort("NAME", False))
    )
    shape = match(many_parents)
    assert shape is not None and shape.name == "tags.page.NAME.asc"
    assert match(Signature(TAGS, "find", equality={"parentId": 2})) is None
    assert match(Signature(TAGS, "find", equality={"ws": 1}, sort=(("depth", -1),))) is None


# The code sends only listed shapes ----------------------------------------------


class Recorder(monitoring.CommandListener):
    """Collects the query shapes of the commands sent to one database."""

    def __init__(self) -> None:
        self.database: str | None = None
        self.sent: list[Signature] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.database is None or event.database_name != self.database:
            return
        found = signatures_of(event.command_name, event.command)
        with self._lock:
            self.sent.extend(found)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_RECORDER = Recorder()
_registered = False


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    global _registered
    if not _registered:
        # Global listeners reach clients made afterwards; it records nothing until armed.
        monitoring.register(_RECORDER)
        _registered = True
    yield _RECORDER
    _RECORDER.database = None
    _RECORDER.sent = []


@pytest.fixture
async def recorded(recorder: Recorder) -> AsyncIterator[tuple[Store, Recorder]]:
    async with open_test_store("tags_plans") as store:
        recorder.database = store.database.db.name
        recorder.sent = []
        yield store, recorder


TAG_PAGE = """
query Page($ws: ID!, $filter: TagFilter, $order: TagOrder, $first: Int, $after: String,
           $last: Int, $before: String) {
  tags(workspaceId: $ws, filter: $filter, orderBy: $order, first: $first, after: $after,
       last: $last, before: $before) {
    totalCount
    nodes { id name usageCount children { id } childCount }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

TAG_DETAIL = """
query Detail($id: ID!, $type: String, $after: String, $before: String) {
  tag(id: $id) {
    id parent { id } ancestors { id } usageCount(resourceType: $type)
    all: resources(first: 1) {
      totalCount nodes { id } pageInfo { hasNextPage endCursor }
    }
    next: resources(first: 1, after: $after) { pageInfo { hasPreviousPage hasNextPage } }
    back: resources(last: 1, before: $before) { pageInfo { hasPreviousPage } }
    typed: resources(resourceType: $type, first: 1, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""

TAGGED = """
query Tagged($ws: ID!, $ids: [ID!]!, $match: TagMatch, $type: String, $desc: Boolean,
             $first: Int, $after: String) {
  taggedResources(workspaceId: $ws, tagIds: $ids, match: $match, resourceType: $type,
                  includeDescendants: $desc, first: $first, after: $after) {
    totalCount edges { cursor node { type id tags { id } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""

SIMILAR = """
query Similar($ws: ID!, $name: String!) { similarTags(workspaceId: $ws, name: $name) { id } }
"""

MUTATIONS = {
    "update": """mutation($input: UpdateTagInput!) { updateTag(input: $input) {
        tag { id } userErrors { code } } }""",
    "delete": """mutation($input: DeleteTagInput!) { deleteTag(input: $input) {
        deletedTagIds userErrors { code } } }""",
    "merge": """mutation($input: MergeTagsInput!) { mergeTags(input: $input) {
        mergedTagIds userErrors { code } } }""",
    "add": """mutation($input: AddTagsToResourcesInput!) { addTagsToResources(input: $input) {
        createdTags { id } userErrors { code } } }""",
    "set": """mutation($input: SetResourceTagsInput!) { setResourceTags(input: $input) {
        resource { id } userErrors { code } } }""",
    "remove": """mutation($input: RemoveTagsFromResourcesInput!) {
        removeTagsFromResources(input: $input) { removedCount userErrors { code } } }""",
    "create_many": """mutation($input: CreateTagsInput!) { createTags(input: $input) {
        tags { id } userErrors { code } } }""",
    "import": """mutation($input: ImportTagsInput!) { importTags(input: $input) {
        created updated userErrors { code } } }""",
    "archive": """mutation($input: ArchiveTagsInput!) { archiveTags(input: $input) {
        tags { id } userErrors { code } } }""",
    "restore": """mutation($input: ArchiveTagsInput!) { restoreTags(input: $input) {
        tags { id } userErrors { code } } }""",
}
EXPORT = "query($ws: ID!) { exportTags(workspaceId: $ws, format: CSV) { content } }"

OTHER_QUERIES = """
query Others($ws: ID!, $slug: String!, $ids: [ID!]!, $type: String!, $rid: String!) {
  tagBySlug(workspaceId: $ws, slug: $slug) { id }
  nodes(ids: $ids) { id }
  resourceTags(workspaceId: $ws, resource: { type: $type, id: $rid }) { id name }
}
"""


async def _exclusive_operations(gql: Executor, elsewhere: str) -> None:
    """A replacement, then a slot still held by a child that moved away (1.1)."""
    only = await create_tag(gql, "Only one", exclusive=True)
    first, second = [await create_tag(gql, n, parentId=only["id"]) for n in ("One", "Two")]
    resources = [{"type": "task", "id": "5"}]
    for tag_id in (first["id"], second["id"], first["id"], "move", second["id"]):
        if tag_id == "move":
            variables = {"input": {"id": first["id"], "parentId": elsewhere}}
            data = (await gql(MUTATIONS["update"], variables)).ok()
        else:
            variables = {"input": {"workspaceId": WS, "resources": resources, "tagIds": [tag_id]}}
            data = (await gql(MUTATIONS["add"], variables)).ok()
        payload = next(iter(data.values()))
        assert payload["userErrors"] == [], payload["userErrors"]


async def _tag_resources_both_ways(gql: Executor, tag_id: str) -> None:
    # Tag.resources of a little used tag reads all its associations in one batch;
    # of a much used one, only its page through the index: both paths, both shapes.
    try:
        for batched_usage in (BATCHED_USAGE, -1):
            queries.BATCHED_USAGE = batched_usage
            detail = (await gql(TAG_DETAIL, {"id": tag_id, "type": "task"})).ok()["tag"]
            cursor = detail["all"]["pageInfo"]["endCursor"]
            variables = {"id": tag_id, "type": "task", "after": cursor, "before": cursor}
            (await gql(TAG_DETAIL, variables)).ok()
    finally:
        queries.BATCHED_USAGE = BATCHED_USAGE


CHANGES = """
query Changes($ws: ID!, $tagId: ID, $actor: ID, $first: Int, $after: String) {
  tagChanges(workspaceId: $ws, tagId: $tagId, actor: $actor, first: $first, after: $after) {
    nodes { id tag { id } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""

HISTORY_PAGE = """
query History($ws: ID!, $after: String) {
  tags(workspaceId: $ws, first: 5) {
    nodes { id history(first: 1, after: $after) { nodes { id } pageInfo { hasPreviousPage } } }
  }
}
"""

CHANGE_NODE = "query Node($id: ID!) { node(id: $id) { id } }"


async def _history_operations(gql: Executor, store: Store, tag_id: str) -> None:
    """(1.2) Every tagChanges narrowing, first and later pages, both probes; Tag.history;
    the entries of an import taken back, taken back."""
    await store.history.delete([f"{0:048x}"])
    for narrowing in ({}, {"tagId": tag_id}, {"actor": "dev"}, {"tagId": tag_id, "actor": "dev"}):
        variables = {"ws": WS, **narrowing, "first": 1}
        page = (await gql(CHANGES, variables)).ok()["tagChanges"]
        cursor = page["pageInfo"]["endCursor"]
        (await gql(CHANGES, {**variables, "after": cursor})).ok()
        # Past the last entry: an empty page, whose hasPreviousPage counts the list.
        last = (await gql(CHANGES, {**variables, "first": 100})).ok()["tagChanges"]
        (await gql(CHANGES, {**variables, "after": last["pageInfo"]["endCursor"]})).ok()
    first = (await gql(HISTORY_PAGE, {"ws": WS})).ok()["tags"]["nodes"]
    cursor = (await gql(CHANGES, {"ws": WS, "tagId": first[0]["id"], "first": 1})).ok()
    after = cursor["tagChanges"]["pageInfo"]["endCursor"]
    (await gql(HISTORY_PAGE, {"ws": WS, "after": after})).ok()
    change_id = first[0]["history"]["nodes"][0]["id"]
    assert (await gql(CHANGE_NODE, {"id": change_id})).ok()["node"] == {"id": change_id}


async def _archive_two(gql: Executor) -> dict[str, Any]:
    """(1.2) Two archived tags, so that a list of archived tags has a page after a
    cursor; returns the variables that archived them (and will restore them)."""
    shelved = [await create_tag(gql, f"Shelved {n}", category="topic") for n in range(2)]
    archived = {"input": {"workspaceId": WS, "ids": [t["id"] for t in shelved]}}
    assert (await gql(MUTATIONS["archive"], archived)).ok()["archiveTags"]["userErrors"] == []
    return archived


async def _lifecycle_operations(
    gql: Executor,
    ok: Callable[[str, dict[str, Any]], Awaitable[None]],
    root: dict[str, Any],
    archived: dict[str, Any],
) -> None:
    """(1.2) An export, an import that creates below a parent and moves a tag, a restore."""
    (await gql(EXPORT, {"ws": WS})).ok()
    content = f"name,parent\r\nImported,{root['slug']}\r\nBatch one,{root['slug']}\r\n"
    await ok("import", {"input": {"workspaceId": WS, "format": "CSV", "content": content}})
    await ok("restore", archived)


async def _run_operations(gql: Executor, store: Store) -> None:
    """A representative set of operations: every list, filter, loader, mutation and repair."""
    root = await create_tag(gql, "Root", category="topic")
    child = await create_tag(gql, "Child", parentId=root["id"], category="topic")
    grandchild = await create_tag(gql, "Grandchild", parentId=child["id"])
    loose = await create_tag(gql, "Loose")
    # Its generated slug "loose" is taken: the next free suffix is looked up.
    await create_tag(gql, "Loose!")
    extra = [await create_tag(gql, f"Extra {i}", parentId=root["id"]) for i in range(3)]
    other = await create_tag(gql, "Elsewhere", workspace=OTHER_WS)
    await tag_resources(
        gql,
        [root["id"], child["id"], grandchild["id"]],
        [("task", "1"), ("task", "2"), ("file", "3")],
    )
    await tag_resources(gql, [loose["id"]], [("task", "1")])
    archived = await _archive_two(gql)

    # Every order, direction and filter: a first page, the page after it, the page before.
    filters: dict[str, Any] = {
        "parentId": root["id"],
        "descendantOf": root["id"],
        "isRoot": True,
        "category": "topic",
        "createdBy": "dev",
        "archived": True,
    }
    cases: list[tuple[dict[str, Any], str]] = [({}, order) for order in ORDERS]
    cases += [({name: filters[name]}, "NAME") for name in TAG_FILTERS]
    cases += [({"isRoot": False, "search": "x", "ids": [root["id"], extra[0]["id"]]}, "NAME")]
    cases += [({"parentId": root["id"], "search": "extra"}, "CREATED_AT")]
    # Archived ones with another filter, in another order; archived or not.
    cases += [({"archived": True, "category": "topic"}, "USAGE_COUNT")]
    cases += [({"archived": None}, order) for order in ORDERS]
    # RELEVANCE needs a search; it goes with every filter.
    cases += [({"search": "o"}, "RELEVANCE"), ({"search": "o", "archived": None}, "RELEVANCE")]
    cases += [({name: filters[name], "search": "o"}, "RELEVANCE") for name in TAG_FILTERS]
    for tag_filter, order in cases:
        for direction in ("ASC", "DESC"):
            base = {
                "ws": WS,
                "filter": tag_filter,
                "order": {"field": order, "direction": direction},
            }
            first = (await gql(TAG_PAGE, {**base, "first": 1})).ok()["tags"]
            cursor = first["pageInfo"]["endCursor"]
            if cursor is None:
                continue
            await gql(TAG_PAGE, {**base, "first": 2, "after": cursor})
            last = (await gql(TAG_PAGE, {**base, "last": 1})).ok()["tags"]
            await gql(TAG_PAGE, {**base, "last": 2, "before": last["pageInfo"]["startCursor"]})

    # A caller limited to some workspaces: loaders restrict by workspace.
    limited = Principal(id="reader", scopes=(READ,), workspace_ids=(WS, "ws-none"))
    everyone = Principal(id="root", scopes=(ADMIN,), workspace_ids=("*",))
    for principal in (limited, everyone):
        result = await gql(
            TAG_PAGE, {"ws": WS, "filter": {"isRoot": True}, "first": 5}, principal=principal
        )
        result.ok()

    await _tag_resources_both_ways(gql, root["id"])

    others = {
        "ws": WS,
        "slug": root["slug"],
        "ids": [root["id"], other["id"]],
        "type": "task",
        "rid": "1",
    }
    (await gql(OTHER_QUERIES, others)).ok()
    facets = """
    query Facets($ws: ID!, $id: ID!) {
      tag(id: $id) { related { count } resources { tagCounts { count } } }
      taggedResources(workspaceId: $ws, tagIds: [$id]) { tagCounts { count } }
    }
    """
    (await gql(facets, {"ws": WS, "id": root["id"]})).ok()
    for name in ("Rot", "x" * 100):  # a short name and a long one
        (await gql(SIMILAR, {"ws": WS, "name": name})).ok()

    for match_mode, rtype, desc in (("ANY", None, True), ("ALL", "task", False)):
        variables = {
            "ws": WS,
            "ids": [root["id"], child["id"]],
            "match": match_mode,
            "type": rtype,
            "desc": desc,
            "first": 1,
        }
        page = (await gql(TAGGED, variables)).ok()["taggedResources"]
        if page["pageInfo"]["endCursor"]:
            await gql(TAGGED, {**variables, "after": page["pageInfo"]["endCursor"]})

    # Mutations: rename, move, tag by name (creating one), set, remove, delete, merge.
    async def ok(name: str, variables: dict[str, Any]) -> None:
        data = (await gql(MUTATIONS[name], variables)).ok()
        payload = next(iter(data.values()))
        assert payload["userErrors"] == [], (name, payload["userErrors"])

    await ok("update", {"input": {"id": loose["id"], "name": "Loose renamed"}})
    await ok("update", {"input": {"id": child["id"], "parentId": loose["id"]}})
    await ok(
        "add",
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "4"}],
                "tagNames": ["Root", "brand new"],
                "createMissing": True,
            }
        },
    )
    await ok(
        "set",
        {
            "input": {
                "workspaceId": WS,
                "resource": {"type": "task", "id": "4"},
                "tagIds": [loose["id"]],
            }
        },
    )
    await ok(
        "remove",
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "1"}],
                "tagIds": [root["id"]],
            }
        },
    )
    await _exclusive_operations(gql, loose["id"])
    await ok(
        "create_many",
        {"input": {"workspaceId": WS, "tags": [{"name": "Batch one"}, {"name": "Batch two"}]}},
    )
    doomed = await create_tag(gql, "Doomed", parentId=loose["id"])
    await create_tag(gql, "Doomed child", parentId=doomed["id"])
    await ok("delete", {"input": {"id": doomed["id"], "deleteDescendants": True}})
    await ok("delete", {"input": {"id": child["id"]}})
    await ok("merge", {"input": {"targetId": extra[0]["id"], "sourceIds": [extra[1]["id"]]}})
    await _lifecycle_operations(gql, ok, root, archived)
    await _history_operations(gql, store, loose["id"])

    # Repair: a flagged delete, a tag gone without its associations, then every pass.
    ws = AuthorizedWorkspace(WS)
    await store.tags.mark_deleting(ws, [extra[2]["id"]])
    await store.tags.delete_ids(ws, [grandchild["id"]])
    await complete_removals(store, [extra[2]["id"]])
    await recount(store, [root["id"]])
    await fix_paths(store, WS)
    await store.tags.mark_deleting(ws, [extra[0]["id"]])
    await repair(store)

    # A tagging written and taken back (what a request does when a limit was crossed).
    written = [tagging_doc(ws, "task\x1f9", loose["id"], now())]
    await store.taggings.insert(written)
    await store.taggings.remove_written(written)

    # API keys.
    await store.api_keys.insert("key1", "billing", "0" * 64, ["tags:read"], ["*"], now())
    await store.api_keys.get("key1")
    await store.api_keys.all()
    await store.api_keys.revoke("key1", now())


async def test_every_query_the_code_sends_is_a_listed_shape(
    schema: TagsSchema, recorded: tuple[Store, Recorder]
) -> None:
    store, recorder = recorded
    await _run_operations(Executor(schema, store), store)

    unlisted = sorted({describe(sig) for sig in recorder.sent if match(sig) is None})
    assert unlisted == [], "\n".join(unlisted)
    seen = {shape.name for sig in recorder.sent if (shape := match(sig)) is not None}
    unsent = [s.name for s in SHAPES if s.name not in seen]
    assert unsent == [], f"listed shapes no operation sent: {unsent}"


# The store's own plans for the change history (1.2) -------------------------------

HISTORY_SHAPES = [s for s in SHAPES if s.collection == TAG_CHANGES]


def _winning_index(explain: dict[str, Any]) -> tuple[str, str]:
    stage = explain["queryPlanner"]["winningPlan"]
    while stage:
        if stage.get("stage") in ("IXSCAN", "COLLSCAN"):
            return stage["stage"], stage.get("indexName", "")
        stage = stage.get("inputStage")
    return "?", ""


@pytest.fixture
async def history_store() -> AsyncIterator[Store]:
    """A workspace's 300 entries over 7 tags and 3 actors, beside another workspace's."""
    async with open_test_store("tags_history_plans") as store:
        start = datetime(2026, 1, 1)
        await store.history.insert(
            [
                {
                    "_id": f"{i:048x}",
                    "ws": WS if i % 10 else OTHER_WS,
                    "tagId": f"tag_{i % 7:024x}",
                    "actor": f"actor-{i % 3}",
                    "at": start + timedelta(seconds=i // 2),
                    "kind": "UPDATED",
                    "changes": [],
                }
                for i in range(300)
            ]
        )
        yield store


@pytest.mark.parametrize("shape", HISTORY_SHAPES, ids=lambda s: s.name)
async def test_history_shapes_use_their_index_on_the_store(
    history_store: Store, shape: Shape
) -> None:
    """`explain` on the store: each shape's filter is planned on the index listed for it.

    A page after a cursor is explained without its bound: SecantusDB plans any
    top-level `$and`/`$or` as a collection scan (bench/PLANS.md), mongod does not.
    """
    values: dict[str, Any] = {
        "ws": WS,
        "tagId": f"tag_{3:024x}",
        "actor": "actor-1",
        "_id": {"$in": [f"{1:048x}", f"{2:048x}"]},
    }
    command: dict[str, Any] = {
        "find": TAG_CHANGES,
        "filter": {f: values[f] for f in shape.equality},
    }
    if shape.sort:
        command["sort"] = dict(shape.sort)
        command["limit"] = 11
    db = history_store.database.db
    explained = await db.command("explain", command, verbosity="executionStats")
    assert shape.index is not None
    assert _winning_index(explained) == ("IXSCAN", shape.index.index_name)
    # Only the entries the equality prefix selects are read, never the collection.
    matching = await db[TAG_CHANGES].count_documents(command["filter"])
    assert explained["executionStats"]["totalDocsExamined"] <= matching < 300


# (1.2) The archived filter, as the store itself plans it ----------------------------


def _scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(stage, index name) of every scan in a winning plan, however deep."""
    found: list[tuple[str, str]] = []
    stages = [plan]
    while stages:
        stage = stages.pop()
        if stage.get("stage") in ("IXSCAN", "COLLSCAN"):
            found.append((stage["stage"], stage.get("indexName", "")))
        stages += [stage["inputStage"]] if "inputStage" in stage else []
        stages += stage.get("inputStages", [])
    return found


@pytest.mark.parametrize("archived", [False, True], ids=["not-archived", "archived"])
async def test_the_archived_filter_is_planned_on_its_index(
    gql: Executor, store: Store, archived: bool
) -> None:
    """The first page the code sends, explained by the store: an index scan that
    reads only the matching tags of the workspace, never a collection scan."""
    from storage.query_shapes import TAG_BY_ARCHIVED
    from storage.tags import TagQuery

    made = [await create_tag(gql, f"Tag {n}") for n in range(12)]
    for n in range(3):
        await create_tag(gql, f"Other {n}", workspace=OTHER_WS)
    ids = [t["id"] for t in made[::3]]
    archive = 'mutation($ids: [ID!]!) { archiveTags(input: {workspaceId: "%s", ids: $ids}) { notFoundIds } }'
    assert (await gql(archive % WS, {"ids": ids})).ok()["archiveTags"]["notFoundIds"] == []

    query = TagQuery(archived=archived).mongo(AuthorizedWorkspace(WS))
    cursor = store.database.tags._c.find(query).sort(order_sort("NAME", False)).limit(21)
    explained = await cursor.explain()
    scans = _scans(explained["queryPlanner"]["winningPlan"])
    assert scans and all(stage == "IXSCAN" for stage, _ in scans), scans
    assert {name for _, name in scans} <= {ix.index_name for ix in INDEXES}
    wanted = 4 if archived else 8
    assert len(await cursor.to_list(None)) == wanted
    stats = explained.get("executionStats")
    if stats and any(name == TAG_BY_ARCHIVED.index_name for _, name in scans):
        # Bounded by the index: neither the other state nor the other workspace is read.
        assert stats["totalDocsExamined"] <= wanted, stats
