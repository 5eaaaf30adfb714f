"""Hostile input over HTTP: every argument of every mutation and of the text-taking queries.

Whatever is sent, the service must answer with a JSON body and a status below 500,
never show internals, code every top-level error with a contract ErrorCode (and
never fail as INTERNAL_SERVER_ERROR: hostile input is not an internal fault), and
leave the store exactly as it was when the answer is only errors.

Run with `pytest -s tests/resolvers/test_fuzz.py` to see how many cases were generated.
"""

from __future__ import annotations

import base64
import copy
import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolvers.normalization import SLUG_RE
from schema import TagsSchema
from storage import Store
from tests.harness import Executor

WS = "ws-fuzz"

ERROR_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "BAD_USER_INPUT",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
    "INTERNAL_SERVER_ERROR",
}
USER_ERROR_CODES = {
    "VALIDATION",
    "NOT_FOUND",
    "NAME_TAKEN",
    "SLUG_TAKEN",
    "CYCLE",
    "DEPTH_EXCEEDED",
    "LIMIT_EXCEEDED",
}
LEAK_MARKERS = ("Traceback", 'File "', "pymongo", "secantus", "motor", ".py", "Error(")

CASES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_case_count() -> Iterator[None]:
    yield
    total = sum(CASES.values())
    detail = ", ".join(f"{k}={v}" for k, v in sorted(CASES.items()))
    print(f"\n[fuzz] {total} generated cases ({detail})")


# Hostile values ----------------------------------------------------------------

CURATED_TEXT = [
    "$where",
    '{"$gt": ""}',
    "{'$ne': null}",
    "$gt",
    "$regex",
    ".*",
    "^",
    "(a+)+$",
    "((a|a)+)+b" + "a" * 40,
    "[",
    "\\",
    "\\\\",
    "\\u0000",
    "__proto__",
    "constructor",
    "prototype",
    "\x00",
    "a\x00b",
    "\x1f",
    "task\x1f1",
    "\x7f",
    "\x85",
    "\u202eevil\u202c",
    "\u200f",
    "\u200e\u200b\u2060",
    "\ufeff",
    "\u2028\u2029",
    "\r\n",
    "\t",
    " \t\n ",
    "",
    " ",
    "\u00a0",
    "\u3000",
    "😀",
    "👨\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈" * 30,
    "e\u0301",
    "\u0301",
    "İ",
    "ß",
    "ﬁ",
    "\uff54\uff41\uff47",  # full-width "tag"
    "Z̴̡̢̛̗̘̙̜̝̞̟̠̀́̂̃̄̅̆̇̈̉̊̋̌̍̎̏̐̑̒̓̔̽̾̿̀́͂̓̈́͆͊͋͌͐͑͒͗͛ͣͤͥͦͧͨͩͪͫͬͭͮͯ̚",
    "null",
    "undefined",
    "true",
    "0",
    "-1",
    "1e309",
    "NaN",
    "%s%n%x",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "../../etc/passwd",
    "tag_",
    "tag_000000000000000000000000",
    "tag_ffffffffffffffffffffffff",
    "TAG_FFFFFFFFFFFFFFFFFFFFFFFF",
    "tag_ffffffffffffffffffffffff\n",
    "*",
    "ws-fuzz",
    "ws-fuzz ",
    "#ABCDEF",
    "abcdef",
    "#abcdeg",
    "a--b",
    "-a",
    "Ab",
    "eyJ4IjoxfQ",
    "WyJOQU1FIiwiYSIsInRhZ18wIl0",
    "WyJOQU1FIix7IiRndCI6IiJ9LCJ0YWdfMCJd",
    # One presentation form that folds to 18 characters: a long key from short text.
    "\ufdfa" * 56,
    "\ufdfa" * 100,
]

# Long values are built on demand: literal copies would bloat hypothesis' reprs.
LONG_TEXT_SPECS = [
    ("a", 50),
    ("a", 51),
    ("a", 100),
    ("a", 101),
    ("a", 257),
    ("a", 501),
    ("é", 501),
    ("a", 20_000),
    ("😀", 20_000),
    ("$.", 10_000),
    ("\x00", 20_000),
    ("tag_", 5_000),
]


def _long(spec: tuple[str, int]) -> str:
    unit, count = spec
    return unit * count


def _forged_cursor(*values: Any) -> str:
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Well-formed cursors carrying values no page ever had: huge, or operator-shaped.
FORGED_CURSORS = [
    _forged_cursor("NAME", "a" * 6000, "tag_000000000000000000000000"),
    _forged_cursor("NAME", "$gt", {"$ne": None}),
    _forged_cursor("RESOURCES", {"t": 0}, "task\x1f" + "x" * 6000),
    _forged_cursor("RESOURCES", {"t": 10**20}, "task\x1f1"),
]

CURATED_SWEEP = CURATED_TEXT + [_long(spec) for spec in LONG_TEXT_SPECS] + FORGED_CURSORS

printable_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=120)
control_heavy = st.text(
    alphabet=st.sampled_from(
        [
            "\x00",
            "\x01",
            "\x1b",
            "\x1f",
            "\x7f",
            "\x9f",
            "\t",
            "\n",
            "\r",
            "$",
            ".",
            "a",
            "é",
            "\u202e",
            "😀",
            " ",
        ]
    ),
    max_size=40,
)
long_text = st.builds(
    lambda unit, n: (unit * n)[:20_000],
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8),
    st.integers(min_value=100, max_value=20_000),
)
hostile_text = st.one_of(
    st.sampled_from(CURATED_TEXT),
    st.sampled_from(CURATED_TEXT),
    st.sampled_from(FORGED_CURSORS),
    st.sampled_from(LONG_TEXT_SPECS).map(_long),
    printable_text,
    control_heavy,
    long_text,
)


def nested(depth: int, as_list: bool) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


SMALL_CURATED_JSON: list[Any] = [
    {"$where": "sleep(1000)"},
    {"$set": {"name": "x"}},
    {"a": {"$gt": ""}},
    {"a.b": 1},
    {"a": {"b.c": 1}},
    {".": 1},
    {"": 1},
    {"k" * 65: 1},
    {"\x00": 1},
    {"a\x00b": 1},
    {"__proto__": {"polluted": True}},
    {"constructor": {"prototype": {"x": 1}}},
    nested(5, False),
    nested(6, False),
    {"n": 2**63},
    {"n": -(2**63) - 1},
    {"n": 2**64 - 1},
    {"n": 10**30},
    {"f": 1e308},
    {"f": float("nan")},
    {"f": float("inf")},
    {"lone": "\ud800"},
    {"\udfff": 1},
    [],
    [1, 2, 3],
    [{"a": 1}],
    "just a string",
    "",
    0,
    -1.5,
    True,
    False,
    {},
]

# Big hostile JSON, built on demand (see LONG_TEXT_SPECS).
BIG_JSON: dict[str, Callable[[], Any]] = {
    "nested-50": lambda: nested(50, False),
    "nested-900": lambda: nested(900, False),
    "lists-300": lambda: {"k": nested(300, True)},
    "array-50k": lambda: {"big": [0] * 50_000},
    "strings-20k-bytes": lambda: {"big": ["x" * 100] * 200},
    "string-16400": lambda: {"s": "x" * 16_400},
    "keys-2000": lambda: {f"k{i}": i for i in range(2_000)},
    "top-array-100k": lambda: list(range(100_000)),
}
curated_json = st.one_of(
    st.sampled_from(SMALL_CURATED_JSON),
    st.sampled_from(sorted(BIG_JSON)).map(lambda name: BIG_JSON[name]()),
)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
hostile_json = st.one_of(
    curated_json,
    curated_json,
    st.recursive(
        json_scalar,
        lambda inner: (
            st.lists(inner, max_size=5)
            | st.dictionaries(
                st.one_of(st.sampled_from(["$x", "a.b", "", "k"]), printable_text),
                inner,
                max_size=5,
            )
        ),
        max_leaves=15,
    ),
)
# A value of the wrong JSON type where a string (or boolean, or list) is expected.
type_confusion = st.one_of(
    st.sampled_from([{"$gt": ""}, {"$ne": None}, ["a"], 1, 1.5, True, {"": ""}]),
    hostile_json,
)
hostile_value = st.one_of(hostile_text, hostile_text, hostile_text, type_confusion)
hostile_list = st.one_of(
    st.lists(hostile_text, max_size=12),
    st.sampled_from([[], ["tag_ffffffffffffffffffffffff"] * 101, ["x"] * 600]),
    type_confusion,
)
hostile_resource = st.one_of(
    st.fixed_dictionaries({"type": hostile_value, "id": hostile_value}),
    st.fixed_dictionaries({"type": st.just("task"), "id": hostile_value}),
    st.fixed_dictionaries({"type": hostile_value, "id": st.just("1")}),
    st.sampled_from(
        [{}, {"type": "task"}, {"type": "task", "id": "1", "extra": 1}, None, "task:1"]
    ),
)
hostile_resources = st.one_of(
    st.lists(hostile_resource, min_size=0, max_size=6),
    st.just([{"type": "task", "id": str(i)} for i in range(501)]),
    type_confusion,
)


# Operations ------------------------------------------------------------------

UE = "userErrors { code field message }"
TAG = "id workspaceId name slug color textColor description category metadata depth"


@dataclass(frozen=True)
class Ctx:
    """The tags made for one case (see Fixtures)."""

    keep: str
    t1: str
    t2: str
    n: int


@dataclass(frozen=True)
class Op:
    name: str
    query: str
    base: Callable[[Ctx], dict[str, Any]]
    # path (into the variables) -> strategy for the hostile value put there
    slots: dict[tuple[Any, ...], Any]
    mutation: bool = True


def _text_slots(prefix: tuple[Any, ...], names: list[str]) -> dict[tuple[Any, ...], Any]:
    return {(*prefix, n): hostile_value for n in names}


DRAFT_TEXT = ["name", "slug", "color", "description", "category", "parentId"]


def _draft(ctx: Ctx, parent: str) -> dict[str, Any]:
    return {
        "name": f"Fuzz {ctx.n}",
        "slug": f"fuzz-{ctx.n}",
        "color": "#123456",
        "description": "about it",
        "category": "topic",
        "parentId": parent,
        "metadata": {"source": "fuzz", "n": ctx.n},
    }


MUTATIONS: list[Op] = [
    Op(
        "createTag",
        f"mutation($input: CreateTagInput!) {{ createTag(input: $input) "
        f"{{ tag {{ {TAG} }} {UE} clientMutationId }} }}",
        lambda c: {"input": {"workspaceId": WS, **_draft(c, c.keep), "clientMutationId": "cm"}},
        {
            **_text_slots(("input",), ["workspaceId", *DRAFT_TEXT, "clientMutationId"]),
            ("input", "metadata"): hostile_json,
        },
    ),
    Op(
        "updateTag",
        f"mutation($input: UpdateTagInput!) {{ updateTag(input: $input) "
        f"{{ tag {{ {TAG} }} {UE} clientMutationId }} }}",
        lambda c: {"input": {"id": c.t1, **_draft(c, c.t2), "clientMutationId": "cm"}},
        {
            **_text_slots(("input",), ["id", *DRAFT_TEXT, "clientMutationId"]),
            ("input", "metadata"): hostile_json,
        },
    ),
    Op(
        "deleteTag",
        f"mutation($input: DeleteTagInput!) {{ deleteTag(input: $input) "
        f"{{ deletedTagIds removedTaggingsCount {UE} clientMutationId }} }}",
        lambda c: {"input": {"id": c.t1, "deleteDescendants": False, "clientMutationId": "cm"}},
        {
            **_text_slots(("input",), ["id", "clientMutationId"]),
            ("input", "deleteDescendants"): type_confusion,
        },
    ),
    Op(
        "createTags",
        f"mutation($input: CreateTagsInput!) {{ createTags(input: $input) "
        f"{{ tags {{ {TAG} }} {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "tags": [_draft(c, c.keep), {"name": f"Fuzz {c.n} b"}],
                "clientMutationId": "cm",
            }
        },
        {
            **_text_slots(("input",), ["workspaceId", "clientMutationId"]),
            **_text_slots(("input", "tags", 0), DRAFT_TEXT),
            **_text_slots(("input", "tags", 1), ["name"]),
            ("input", "tags", 0, "metadata"): hostile_json,
            ("input", "tags"): st.one_of(
                type_confusion,
                st.lists(st.fixed_dictionaries({"name": hostile_value}), max_size=8),
                st.just([{"name": f"many {i}"} for i in range(101)]),
            ),
        },
    ),
    Op(
        "deleteTags",
        f"mutation($input: DeleteTagsInput!) {{ deleteTags(input: $input) "
        f"{{ deletedCount deletedIds notFoundIds {UE} clientMutationId }} }}",
        lambda c: {"input": {"workspaceId": WS, "ids": [c.t1, c.t2], "clientMutationId": "cm"}},
        {
            **_text_slots(("input",), ["workspaceId", "clientMutationId"]),
            ("input", "ids", 0): hostile_value,
            ("input", "ids"): hostile_list,
        },
    ),
    Op(
        "mergeTags",
        f"mutation($input: MergeTagsInput!) {{ mergeTags(input: $input) "
        f"{{ tag {{ {TAG} }} mergedTagIds movedTaggingsCount {UE} clientMutationId }} }}",
        lambda c: {"input": {"targetId": c.t1, "sourceIds": [c.t2], "clientMutationId": "cm"}},
        {
            **_text_slots(("input",), ["targetId", "clientMutationId"]),
            ("input", "sourceIds", 0): hostile_value,
            ("input", "sourceIds"): hostile_list,
        },
    ),
    Op(
        "addTagsToResources",
        f"mutation($input: AddTagsToResourcesInput!) {{ addTagsToResources(input: $input) "
        f"{{ resources {{ type id tagCount tags {{ id name }} }} createdTags {{ {TAG} }} "
        f"addedCount {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": f"r{c.n}"}, {"type": "doc.file", "id": "1"}],
                "tagIds": [c.keep],
                "tagNames": [f"Named {c.n}"],
                "createMissing": True,
                "clientMutationId": "cm",
            }
        },
        {
            **_text_slots(("input",), ["workspaceId", "clientMutationId"]),
            ("input", "resources", 0, "type"): hostile_value,
            ("input", "resources", 0, "id"): hostile_value,
            ("input", "resources", 1): hostile_resource,
            ("input", "resources"): hostile_resources,
            ("input", "tagIds", 0): hostile_value,
            ("input", "tagIds"): hostile_list,
            ("input", "tagNames", 0): hostile_value,
            ("input", "tagNames"): hostile_list,
            ("input", "createMissing"): type_confusion,
        },
    ),
    Op(
        "removeTagsFromResources",
        f"mutation($input: RemoveTagsFromResourcesInput!) {{ "
        f"removeTagsFromResources(input: $input) "
        f"{{ resources {{ type id tagCount }} removedCount {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "base"}],
                "tagIds": [c.keep],
                "clientMutationId": "cm",
            }
        },
        {
            **_text_slots(("input",), ["workspaceId", "clientMutationId"]),
            ("input", "resources", 0, "type"): hostile_value,
            ("input", "resources", 0, "id"): hostile_value,
            ("input", "resources"): hostile_resources,
            ("input", "tagIds", 0): hostile_value,
            ("input", "tagIds"): hostile_list,
        },
    ),
    Op(
        "setResourceTags",
        f"mutation($input: SetResourceTagsInput!) {{ setResourceTags(input: $input) "
        f"{{ resource {{ type id tagCount }} addedCount removedCount {UE} clientMutationId }} }}",
        lambda c: {
            "input": {
                "workspaceId": WS,
                "resource": {"type": "task", "id": f"s{c.n % 7}"},
                "tagIds": [c.keep],
                "clientMutationId": "cm",
            }
        },
        {
            **_text_slots(("input",), ["workspaceId", "clientMutationId"]),
            ("input", "resource", "type"): hostile_value,
            ("input", "resource", "id"): hostile_value,
            ("input", "resource"): hostile_resource,
            ("input", "tagIds", 0): hostile_value,
            ("input", "tagIds"): hostile_list,
        },
    ),
]

QUERIES: list[Op] = [
    Op(
        "tags",
        "query($ws: ID!, $filter: TagFilter, $after: String, $before: String) { "
        "tags(workspaceId: $ws, filter: $filter, after: $after, before: $before) "
        "{ totalCount nodes { id name } pageInfo { endCursor hasNextPage } } }",
        lambda c: {"ws": WS, "filter": {}, "after": None, "before": None},
        {
            ("ws",): hostile_value,
            ("filter", "search"): hostile_value,
            ("filter", "category"): hostile_value,
            ("filter", "createdBy"): hostile_value,
            ("filter", "parentId"): hostile_value,
            ("filter", "descendantOf"): hostile_value,
            ("filter", "ids"): hostile_list,
            ("filter",): type_confusion,
            ("after",): hostile_value,
            ("before",): hostile_value,
        },
        mutation=False,
    ),
    Op(
        "tagBySlug",
        "query($ws: ID!, $slug: String!) { tagBySlug(workspaceId: $ws, slug: $slug) { id slug } }",
        lambda c: {"ws": WS, "slug": "fuzz-1"},
        {("ws",): hostile_value, ("slug",): hostile_value},
        mutation=False,
    ),
    Op(
        "resourceTags",
        "query($ws: ID!, $r: ResourceRefInput!) { resourceTags(workspaceId: $ws, resource: $r) "
        "{ id name } }",
        lambda c: {"ws": WS, "r": {"type": "task", "id": "base"}},
        {
            ("ws",): hostile_value,
            ("r", "type"): hostile_value,
            ("r", "id"): hostile_value,
            ("r",): hostile_resource,
        },
        mutation=False,
    ),
    Op(
        "tag/node/nodes",
        "query($id: ID!, $ids: [ID!]!) { tag(id: $id) { id } node(id: $id) { id } "
        "nodes(ids: $ids) { id } }",
        lambda c: {"id": c.keep, "ids": [c.keep]},
        {("id",): hostile_value, ("ids",): hostile_list, ("ids", 0): hostile_value},
        mutation=False,
    ),
    Op(
        "taggedResources",
        "query($ws: ID!, $ids: [ID!]!, $type: String, $after: String) { "
        "taggedResources(workspaceId: $ws, tagIds: $ids, resourceType: $type, after: $after) "
        "{ totalCount nodes { type id } } }",
        lambda c: {"ws": WS, "ids": [c.keep], "type": None, "after": None},
        {
            ("ws",): hostile_value,
            ("ids", 0): hostile_value,
            ("ids",): hostile_list,
            ("type",): hostile_value,
            ("after",): hostile_value,
            ("before",): hostile_value,
        },
        mutation=False,
    ),
    Op(
        "Tag fields",
        "query($id: ID!, $type: String, $after: String, $before: String) { tag(id: $id) { "
        "usageCount(resourceType: $type) children(first: 5) { id } "
        "resources(resourceType: $type, after: $after, before: $before) "
        "{ totalCount nodes { type id } pageInfo { hasNextPage hasPreviousPage } } } }",
        lambda c: {"id": c.keep, "type": None, "after": None, "before": None},
        {
            ("id",): hostile_value,
            ("type",): hostile_value,
            ("after",): hostile_value,
            ("before",): hostile_value,
        },
        mutation=False,
    ),
]


OPS_BY_NAME = {op.name: op for op in MUTATIONS + QUERIES}


def _set(variables: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(variables)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


# (operation name, [(path into the variables, hostile value), ...])
Case = tuple[str, list[tuple[tuple[Any, ...], Any]]]


@st.composite
def cases(draw: st.DrawFn, ops: list[Op]) -> Case:
    """(operation name, [(path, hostile value), ...]); the name keeps reports short.

    The names in `ops` are unique; they are drawn in the order given."""
    by_name = {o.name: o for o in ops}
    op = by_name[draw(st.sampled_from([o.name for o in ops]))]
    paths = sorted(op.slots, key=repr)
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2, unique=True))
    # A whole list (or object) and one of its items are not replaced together.
    chosen = [p for p in chosen if not any(q != p and p[: len(q)] == q for q in chosen)]
    return op.name, [(p, draw(op.slots[p])) for p in chosen]


# The harness -----------------------------------------------------------------


async def _post(client: httpx.AsyncClient, query: str, variables: Any) -> Any:
    return (
        await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
        )
        if _json_safe(variables)
        else await client.post(
            "/graphql",
            content=json.dumps({"query": query, "variables": variables}, allow_nan=True).encode(),
            headers={"content-type": "application/json"},
        )
    )


def _json_safe(value: Any) -> bool:
    """Whether httpx can encode it (no NaN/Infinity, no lone surrogates)."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


async def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every document of both collections, straight from the driver: nothing ignored."""
    out = {}
    for name in ("tags", "taggings"):
        docs = await getattr(store.database, name)._c.find({}).to_list(None)
        out[name] = sorted(docs, key=lambda d: repr(d.get("_id")))
    return out


class Fixtures:
    """Fresh data for every case: the store is emptied, then three tags are made
    (`keep`, `t1`, `t2`), and `keep` and `t2` are applied to task:base.
    A small store keeps the before/after snapshots cheap and the cases independent.
    A case that left the store exactly as it found it (most hostile cases are
    refused) hands its data on to the next one: it is what a fresh set-up makes."""

    def __init__(self) -> None:
        self.n = 0
        # (store, its tags, its snapshot) while the store is as the set-up left it.
        self._fresh: tuple[Store, Ctx, dict[str, list[dict[str, Any]]]] | None = None

    def unchanged(self, store: Store, ctx: Ctx, state: dict[str, list[dict[str, Any]]]) -> None:
        """The case on `ctx` left the store as the set-up made it (`state`)."""
        self._fresh = (store, ctx, state)

    async def fresh(
        self, client: httpx.AsyncClient, store: Store
    ) -> tuple[Ctx, dict[str, list[dict[str, Any]]]]:
        """The tags of a fresh set-up and the store's snapshot; reused when still fresh."""
        kept, self._fresh = self._fresh, None
        if kept is not None and kept[0] is store:
            self.n += 1
            return replace(kept[1], n=self.n), kept[2]
        ctx = await self.context(client, store)
        return ctx, await snapshot(store)

    async def _call(
        self, client: httpx.AsyncClient, query: str, variables: dict[str, Any], field: str
    ) -> Any:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        payload = response.json()["data"][field]
        assert payload["userErrors"] == [], payload
        return payload

    async def context(self, client: httpx.AsyncClient, store: Store) -> Ctx:
        self.n += 1
        for name in ("tags", "taggings"):
            await getattr(store.database, name)._c.delete_many({})
        made = await self._call(
            client,
            "mutation($i: CreateTagsInput!) { createTags(input: $i) "
            "{ tags { id } userErrors { code message } } }",
            {"i": {"workspaceId": WS, "tags": [{"name": n} for n in ("Keeper", "One", "Two")]}},
            "createTags",
        )
        keep, t1, t2 = (t["id"] for t in made["tags"])
        await self._call(
            client,
            "mutation($i: AddTagsToResourcesInput!) { addTagsToResources(input: $i) "
            "{ addedCount userErrors { code message } } }",
            {
                "i": {
                    "workspaceId": WS,
                    "resources": [{"type": "task", "id": "base"}],
                    "tagIds": [keep, t2],
                }
            },
            "addTagsToResources",
        )
        return Ctx(keep=keep, t1=t1, t2=t2, n=self.n)


def _messages(body: dict[str, Any]) -> list[str]:
    found = [e.get("message", "") for e in body.get("errors") or []]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "userErrors" and isinstance(item, list):
                    found.extend(e["message"] for e in item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body.get("data"))
    return found


def _has_cc(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _check_stored_tag(tag: dict[str, Any]) -> None:
    """A tag the service accepted obeys the contract's text rules."""
    name = tag["name"]
    assert 1 <= len(name) <= 100 and not _has_cc(name), name
    assert name == " ".join(unicodedata.normalize("NFC", name).split()), name
    assert SLUG_RE.fullmatch(tag["slug"]) and len(tag["slug"]) <= 100, tag["slug"]
    for key, limit, allowed in (("description", 500, "\t\n"), ("category", 50, "")):
        text = tag[key]
        if text is not None:
            assert 1 <= len(text) <= limit and not _has_cc(text, allowed), (key, text)
            assert text == unicodedata.normalize("NFC", text).strip(), (key, text)
    _check_metadata(tag["metadata"], depth=1)


def _check_metadata(value: Any, depth: int) -> None:
    """Accepted metadata obeys the JSON scalar's rules: an object, keys 1-64 characters
    neither starting with `$` nor containing `.`, nesting at most 5."""
    assert depth > 1 or isinstance(value, dict), value
    if isinstance(value, dict | list):
        assert depth <= 5, "metadata nested too deep was accepted"
    if isinstance(value, dict):
        for key, item in value.items():
            assert 1 <= len(key) <= 64 and not key.startswith("$") and "." not in key, key
            _check_metadata(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_metadata(item, depth + 1)


def _check_payload(name: str, payload: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Checks one mutation payload; True when it reports only userErrors."""
    errors = payload["userErrors"]
    for e in errors:
        assert e["code"] in USER_ERROR_CODES, e
        assert e["field"] is None or all(isinstance(p, str) for p in e["field"]), e
    given = sent.get("input")
    cmid = given.get("clientMutationId") if isinstance(given, dict) else None
    # (1.2) The lifecycle payloads (archiveTags, restoreTags) have no clientMutationId.
    if "clientMutationId" in payload:
        assert payload["clientMutationId"] == cmid, (payload["clientMutationId"], cmid)
    if errors:
        # A failed mutation's object fields are null and its lists empty.
        for key, value in payload.items():
            if key not in ("userErrors", "clientMutationId"):
                assert value in (None, [], 0), (name, key, value)
        return True
    tags: list[Any] = [payload.get("tag")] if payload.get("tag") else []
    tags += payload.get("tags") or []
    tags += payload.get("createdTags") or []
    for tag in tags:
        _check_stored_tag(tag)
    return False


async def run_case(
    client: httpx.AsyncClient, store: Store, fx: Fixtures, op: Op, edits: list[Any], kind: str
) -> None:
    CASES[kind] += 1
    ctx, before = await fx.fresh(client, store)
    variables = op.base(ctx)
    for path, value in edits:
        variables = _set(variables, path, value)

    encoded = json.dumps(variables, allow_nan=True)
    if not op.mutation and _json_safe(variables) and len(encoded) < 2000 and ctx.n % 3 == 0:
        response = await client.get("/graphql", params={"query": op.query, "variables": encoded})
    else:
        response = await _post(client, op.query, variables)

    assert response.status_code < 500, (response.status_code, response.text[:500])
    body = response.json()  # raises if the body is not JSON
    assert isinstance(body, dict) and ("errors" in body or "data" in body), body

    sent_text = json.dumps(variables, ensure_ascii=False, allow_nan=True)
    # Once per case, not per message: a case may send megabytes and get
    # thousands of messages back.
    unsent = [marker for marker in LEAK_MARKERS if marker not in sent_text]
    for message in _messages(body):
        assert isinstance(message, str) and message
        for marker in unsent:
            assert marker not in message, (marker, message)

    top = body.get("errors") or []
    for error in top:
        code = (error.get("extensions") or {}).get("code")
        assert code in ERROR_CODES, error
        assert code != "INTERNAL_SERVER_ERROR", (op.name, edits, error)
    if response.status_code != 200:
        assert top, body

    only_errors = bool(top)
    data = body.get("data")
    if op.mutation and data:
        payload = data[op.name]
        if payload is not None:
            only_errors = _check_payload(op.name, payload, variables) or only_errors
    after = await snapshot(store)
    if only_errors or not op.mutation:
        assert after == before, (op.name, edits, body)
    if after == before:
        fx.unchanged(store, ctx, before)


FIXTURES = Fixtures()

FUZZ_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)


@settings(FUZZ_SETTINGS, max_examples=360)
@given(case=cases(MUTATIONS))
async def test_hostile_mutation_arguments(
    client: httpx.AsyncClient, store: Store, case: Case
) -> None:
    fx = FIXTURES
    name, edits = case
    op = OPS_BY_NAME[name]
    await run_case(client, store, fx, op, edits, "mutations")


@settings(FUZZ_SETTINGS, max_examples=150)
@given(
    case=cases([op for op in MUTATIONS if op.name in ("createTag", "updateTag", "createTags")]),
    metadata=hostile_json,
)
async def test_hostile_metadata(
    client: httpx.AsyncClient, store: Store, case: Case, metadata: Any
) -> None:
    fx = FIXTURES
    op = OPS_BY_NAME[case[0]]
    path = ("input", "tags", 0, "metadata") if op.name == "createTags" else ("input", "metadata")
    await run_case(client, store, fx, op, [(path, metadata)], "metadata")


@settings(FUZZ_SETTINGS, max_examples=200)
@given(case=cases(QUERIES))
async def test_hostile_query_arguments(client: httpx.AsyncClient, store: Store, case: Case) -> None:
    fx = FIXTURES
    name, edits = case
    op = OPS_BY_NAME[name]
    await run_case(client, store, fx, op, edits, "queries")


SWEEP_VALUES: list[Any] = [{"$gt": ""}]


def _sweep_params() -> list[Any]:
    params = []
    for op in MUTATIONS + QUERIES:
        for path, strategy in sorted(op.slots.items(), key=lambda item: repr(item[0])):
            if strategy is hostile_value:
                params.append(pytest.param(op, path, id=f"{op.name}:{'.'.join(map(str, path))}"))
    return params


SWEEP = _sweep_params()


@pytest.mark.parametrize(("op", "path"), SWEEP)
async def test_every_text_argument_gets_hostile_values(
    client: httpx.AsyncClient, store: Store, op: Op, path: tuple[Any, ...]
) -> None:
    """Deterministic sweep so that no argument is left to chance: each text argument
    gets an operator object and a rotating pick of the curated strings."""
    fx = Fixtures()
    index = SWEEP.index(next(p for p in SWEEP if p.values == (op, path)))
    picks = [CURATED_SWEEP[(index * 3 + k) % len(CURATED_SWEEP)] for k in range(3)]
    for value in [*SWEEP_VALUES, *picks]:
        await run_case(client, store, fx, op, [(path, value)], "sweep")


# --- No unbounded or pathological value reaches the store ------------------------------------
# Each text argument that can carry something no stored value can equal is answered
# without a store call: the cost the response reports is 0.

HUGE = 5000
LONG_ID = "tag_" + "f" * HUGE
TAGS_QUERY = (
    "query($ws: ID!, $filter: TagFilter, $after: String, $before: String) { "
    "tags(workspaceId: $ws, filter: $filter, after: $after, before: $before) "
    "{ totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage } } }"
)
EMPTY_TAGS = {
    "tags": {
        "totalCount": 0,
        "nodes": [],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
    }
}
TAGGED = (
    "query($ws: ID!, $ids: [ID!]!, $type: String) { "
    "taggedResources(workspaceId: $ws, tagIds: $ids, resourceType: $type) "
    "{ totalCount nodes { id } } }"
)
RESOURCE_TAGS = (
    "query($ws: ID!, $r: ResourceRefInput!) { resourceTags(workspaceId: $ws, resource: $r) { id } }"
)
NAME_CURSOR = _forged_cursor("NAME", "a" * 6000, "tag_000000000000000000000000")

# (name, query, variables, expected data or None for a BAD_USER_INPUT error)
ZERO_CALL_READS: list[tuple[str, str, dict[str, Any], Any]] = [
    ("search over 100", TAGS_QUERY, {"ws": WS, "filter": {"search": "a" * 101}}, EMPTY_TAGS),
    ("search huge", TAGS_QUERY, {"ws": WS, "filter": {"search": "(a+)+" * HUGE}}, EMPTY_TAGS),
    (
        "search over 100 after a cursor",
        TAGS_QUERY,
        {"ws": WS, "filter": {"search": "b" * 101}, "after": _forged_cursor("NAME", "a", "tag_0")},
        EMPTY_TAGS,
    ),
    ("category over 50", TAGS_QUERY, {"ws": WS, "filter": {"category": "c" * 51}}, EMPTY_TAGS),
    ("parentId huge", TAGS_QUERY, {"ws": WS, "filter": {"parentId": LONG_ID}}, EMPTY_TAGS),
    ("descendantOf huge", TAGS_QUERY, {"ws": WS, "filter": {"descendantOf": LONG_ID}}, EMPTY_TAGS),
    ("ids malformed", TAGS_QUERY, {"ws": WS, "filter": {"ids": [LONG_ID, "$gt"]}}, EMPTY_TAGS),
    ("createdBy huge", TAGS_QUERY, {"ws": WS, "filter": {"createdBy": "u" * HUGE}}, None),
    ("after huge", TAGS_QUERY, {"ws": WS, "after": "A" * HUGE}, None),
    ("after forged huge", TAGS_QUERY, {"ws": WS, "after": NAME_CURSOR}, None),
    ("before forged huge", TAGS_QUERY, {"ws": WS, "before": NAME_CURSOR}, None),
    ("workspaceId huge", TAGS_QUERY, {"ws": "w" * HUGE}, None),
    (
        "tagBySlug huge",
        "query($ws: ID!, $s: String!) { tagBySlug(workspaceId: $ws, slug: $s) { id } }",
        {"ws": WS, "s": "a" * HUGE},
        {"tagBySlug": None},
    ),
    (
        "tag/node/nodes huge",
        "query($id: ID!) { tag(id: $id) { id } node(id: $id) { id } nodes(ids: [$id]) { id } }",
        {"id": LONG_ID},
        {"tag": None, "node": None, "nodes": [None]},
    ),
    (
        "taggedResources type huge",
        TAGGED,
        {"ws": WS, "ids": ["tag_000000000000000000000000"], "type": "t" * HUGE},
        {"taggedResources": {"totalCount": 0, "nodes": []}},
    ),
    (
        "resourceTags id huge",
        RESOURCE_TAGS,
        {"ws": WS, "r": {"type": "task", "id": "x" * HUGE}},
        None,
    ),
    (
        "resourceTags type huge",
        RESOURCE_TAGS,
        {"ws": WS, "r": {"type": "t" * HUGE, "id": "1"}},
        None,
    ),
]


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [pytest.param(q, v, e, id=name) for name, q, v, e in ZERO_CALL_READS],
)
async def test_reads_that_nothing_can_match_make_no_store_call(
    gql: Executor, query: str, variables: dict[str, Any], expected: Any
) -> None:
    result = await gql(query, variables)
    assert result.round_trips == 0
    if expected is None:
        assert result.error_codes == ["BAD_USER_INPUT"], result.errors
    else:
        assert result.ok() == expected


MUTATION_TEXT = [
    ("name", "n" * HUGE),
    ("slug", "s" * HUGE),
    ("color", "#" * HUGE),
    ("description", "d" * HUGE),
    ("category", "c" * HUGE),
]


async def test_malformed_tag_ids_never_reach_the_store(
    gql: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.tags import TagStore

    sent: list[str] = []
    original = TagStore.in_workspace

    async def spy(self: Any, ws: Any, ids: Any, **kwargs: Any) -> Any:
        sent.extend(ids)
        return await original(self, ws, ids, **kwargs)

    monkeypatch.setattr(TagStore, "in_workspace", spy)
    result = await gql(TAGGED, {"ws": WS, "ids": [LONG_ID, "$gt", "tag_000000000000000000000000"]})
    assert result.ok() == {"taggedResources": {"totalCount": 0, "nodes": []}}
    assert sent == ["tag_000000000000000000000000"]


@pytest.mark.parametrize(("field", "value"), MUTATION_TEXT, ids=[f for f, _ in MUTATION_TEXT])
async def test_overlong_tag_text_is_refused_before_the_store(
    gql: Executor, field: str, value: str
) -> None:
    draft = {"workspaceId": WS, "name": "Fine", field: value}
    result = await gql(
        "mutation($i: CreateTagInput!) { createTag(input: $i) { userErrors { code field } } }",
        {"i": draft},
    )
    assert result.ok()["createTag"]["userErrors"] == [{"code": "VALIDATION", "field": [field]}]
    assert result.round_trips == 0


async def test_a_search_of_100_characters_still_searches(gql: Executor) -> None:
    from tests.helpers import create_tag

    made = await create_tag(gql, "a" * 100, workspace=WS)
    result = await gql(TAGS_QUERY, {"ws": WS, "filter": {"search": "a" * 100}})
    assert [n["id"] for n in result.ok()["tags"]["nodes"]] == [made["id"]]
    assert result.round_trips > 0


async def test_a_search_folding_to_a_very_long_key_is_matched_without_a_regex(
    gql: Executor,
) -> None:
    """56 characters that fold to 1008: longer than some servers accept as a regex."""
    from tests.helpers import create_tag

    long_form = await create_tag(gql, "\ufdfa" * 60, workspace=WS)
    await create_tag(gql, "\ufdfa" * 10, workspace=WS)
    result = await gql(TAGS_QUERY, {"ws": WS, "filter": {"search": "\ufdfa" * 56}})
    assert result.ok()["tags"]["totalCount"] == 1
    assert [n["id"] for n in result.ok()["tags"]["nodes"]] == [long_form["id"]]


@pytest.mark.parametrize("workspace", ["w" * HUGE, "", "ws\x00", {"$gt": ""}])
async def test_hostile_subscription_workspace_ids_are_refused(
    schema: TagsSchema, store: Store, workspace: Any
) -> None:
    from resolvers.authorization import DEV_PRINCIPAL
    from resolvers.context import make_context

    context = make_context(None, DEV_PRINCIPAL, store, "sub-fuzz")
    stream = await schema.subscribe(
        "subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind } }",
        variable_values={"ws": workspace},
        context_value=context,
    )
    # Strawberry's subscribe always returns a stream; a refused operation is its first item.
    first = await stream.__anext__()
    errors = first.errors
    await stream.aclose()
    assert errors, "a hostile workspace id was accepted"
    assert context.meter.round_trips == 0
