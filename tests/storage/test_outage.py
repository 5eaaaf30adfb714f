"""The store goes away mid-load and comes back (behaviour only; latencies are in bench/REPORT.md)."""

from __future__ import annotations

import pytest

from devtools.outage import scenario
from storage import Store
from tests.harness import Executor, app_client, store_uri

UNAVAILABLE = "The data store is unavailable; try again shortly."


async def test_outage_mid_load_fails_clearly_and_recovers_without_losing_anything() -> None:
    # The store timeout (1 s; calls wait that long for a store that is away) is
    # the only fault here: with a shorter one, a busy machine's slow answers
    # time out too, and a write the store still applies after its caller gave
    # up is the one inconsistency left for `tags-admin repair` (README).
    out = await scenario(store_uri(), clients=8, seconds=4.5, timeout_ms=1000)
    assert out.requests > 50
    # Readiness follows the store: ready, then 503 while it is away, then ready again by itself.
    assert [status for _, status in out.readiness] == [200, 503, 200]
    # Requests that failed said why, with no internals.
    assert out.failed_fast, "the outage caused no failure at all"
    assert out.failed_messages == {UNAVAILABLE}
    # What the outage interrupted was completed once the store was back...
    assert out.pending_after == 0
    # ...no acknowledged creation is missing, and repair has nothing left to do.
    assert out.acknowledged_tags and out.lost == []
    assert out.repair is not None, out.repair
    assert out.repair.clean, out.repair


# --- An outage that begins between two steps of one mutation --------------------------------

import asyncio  # noqa: E402
import functools  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from typing import Any  # noqa: E402

from storage.repair import repair  # noqa: E402
from storage.taggings import TaggingStore  # noqa: E402
from storage.tags import TagStore  # noqa: E402
from tests.helpers import (  # noqa: E402
    ADD_TAGS,
    CREATE_TAG,
    DELETE_TAG,
    UPDATE_TAG,
    WS,
    create_tag,
    tag_resources,
)

REMOVE = """mutation($input: RemoveTagsFromResourcesInput!) {
  removeTagsFromResources(input: $input) { removedCount userErrors { code } } }"""
MERGE = """mutation($input: MergeTagsInput!) {
  mergeTags(input: $input) { movedTaggingsCount userErrors { code } } }"""
USAGE = "query($id: ID!) { tag(id: $id) { usageCount } }"


# What a scenario leaves to verify once the store is back.
Check = Callable[[], Awaitable[None]]
Scenario = Callable[[Executor, pytest.MonkeyPatch, Store], Awaitable[Check]]


def outage_at(monkeypatch: pytest.MonkeyPatch, store: Store, cls: type, method: str) -> None:
    """The store becomes unreachable just as `cls.method` is about to run."""
    original = getattr(cls, method)

    @functools.wraps(original)
    async def cut(self: Any, *args: Any, **kwargs: Any) -> Any:
        store.database.outage.begin()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, cut)


async def back_and_recovered(store: Store) -> None:
    store.database.outage.end()
    assert store.recovery.pending > 0, "nothing was registered for completion"
    assert await store.recovery.run_pending() == 0


async def cut_short(
    gql: Executor,
    monkeypatch: pytest.MonkeyPatch,
    store: Store,
    at: tuple[type, str],
    query: str,
    variables: dict[str, Any],
) -> None:
    """`query` cut by an outage at `at` (class, method): a 500; the outage is lifted after."""
    outage_at(monkeypatch, store, *at)
    result = await gql(query, variables)
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()


def on_task_1(tag_id: str) -> dict[str, Any]:
    return {
        "input": {
            "workspaceId": WS,
            "resources": [{"type": "task", "id": "1"}],
            "tagIds": [tag_id],
        }
    }


async def scenario_add(gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store) -> Check:
    tag = await create_tag(gql, "Cut")
    await cut_short(
        gql, monkeypatch, store, (TagStore, "add_usage_many"), ADD_TAGS, on_task_1(tag["id"])
    )

    async def check() -> None:
        # The failed request is taken back entirely: no association, no count.
        assert (await gql(USAGE, {"id": tag["id"]})).ok()["tag"]["usageCount"] == 0
        rows = await store.taggings.of_resources([WS], ["task\x1f1"], store_visibility())
        assert rows == []

    return check


async def scenario_remove(gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store) -> Check:
    tag = await create_tag(gql, "Cut")
    await tag_resources(gql, [tag["id"]], [("task", "1"), ("task", "2")])
    await cut_short(
        gql, monkeypatch, store, (TagStore, "add_usage_many"), REMOVE, on_task_1(tag["id"])
    )

    async def check() -> None:
        assert (await gql(USAGE, {"id": tag["id"]})).ok()["tag"]["usageCount"] == 1

    return check


async def scenario_delete(gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store) -> Check:
    parent = await create_tag(gql, "Parent")
    doomed = await create_tag(gql, "Doomed", parentId=parent["id"])
    child = await create_tag(gql, "Child", parentId=doomed["id"])
    await tag_resources(gql, [doomed["id"]], [("task", "1")])
    await cut_short(
        gql,
        monkeypatch,
        store,
        (TaggingStore, "remove_tags"),
        DELETE_TAG,
        {"input": {"id": doomed["id"]}},
    )

    async def check() -> None:
        assert (await gql("query($id: ID!) { tag(id: $id) { id } }", {"id": doomed["id"]})).ok()[
            "tag"
        ] is None
        moved = (
            await gql(
                "query($id: ID!) { tag(id: $id) { parent { id } depth } }", {"id": child["id"]}
            )
        ).ok()["tag"]
        assert moved == {"parent": {"id": parent["id"]}, "depth": 1}

    return check


async def scenario_merge(gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store) -> Check:
    target = await create_tag(gql, "Target")
    source = await create_tag(gql, "Source")
    await tag_resources(gql, [source["id"]], [("task", "1"), ("task", "2")])
    await cut_short(
        gql,
        monkeypatch,
        store,
        (TaggingStore, "remove_tags"),
        MERGE,
        {"input": {"targetId": target["id"], "sourceIds": [source["id"]]}},
    )

    async def check() -> None:
        assert (await gql(USAGE, {"id": target["id"]})).ok()["tag"]["usageCount"] == 2
        assert (await gql(USAGE, {"id": source["id"]})).ok()["tag"] is None

    return check


async def scenario_move(gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store) -> Check:
    a = await create_tag(gql, "A")
    b = await create_tag(gql, "B")
    leaf = await create_tag(gql, "Leaf", parentId=b["id"])
    await cut_short(
        gql,
        monkeypatch,
        store,
        (TagStore, "move_subtree"),
        UPDATE_TAG,
        {"input": {"id": b["id"], "parentId": a["id"]}},
    )

    async def check() -> None:
        moved = (
            await gql(
                "query($id: ID!) { tag(id: $id) { depth ancestors { id } } }", {"id": leaf["id"]}
            )
        ).ok()["tag"]
        assert moved == {"depth": 2, "ancestors": [{"id": a["id"]}, {"id": b["id"]}]}

    return check


# --- (1.2) The history entry of a change, cut short after the change itself ------------------

from storage.history import PENDING, HistoryStore  # noqa: E402

HISTORY = """query($ws: ID!, $id: ID) {
  tagChanges(workspaceId: $ws, tagId: $id) { nodes { kind tagId mergedIntoId } } }"""


async def history_of(gql: Executor, tag_id: str) -> list[str]:
    page = (await gql(HISTORY, {"ws": WS, "id": tag_id})).ok()["tagChanges"]
    return [n["kind"] for n in page["nodes"]]


async def nothing_pending(store: Store) -> None:
    docs = await store.database.tags.find({})
    assert [d["_id"] for d in docs if d.get(PENDING)] == []


async def scenario_history_create(
    gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store
) -> Check:
    """The tag is written (its entry with it); the copy to the history is cut."""
    variables = {"input": {"workspaceId": WS, "name": "Recorded"}}
    await cut_short(gql, monkeypatch, store, (HistoryStore, "insert"), CREATE_TAG, variables)

    async def check() -> None:
        [tag] = await store.database.tags.find({"ws": WS})
        assert await history_of(gql, tag["_id"]) == ["CREATED"]
        await nothing_pending(store)

    return check


async def scenario_history_update(
    gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store
) -> Check:
    """The entry reached the history; taking it off the tag is cut."""
    tag = await create_tag(gql, "Before")
    variables = {"input": {"id": tag["id"], "name": "After"}}
    await cut_short(gql, monkeypatch, store, (HistoryStore, "clear_pending"), UPDATE_TAG, variables)

    async def check() -> None:
        assert await history_of(gql, tag["id"]) == ["UPDATED", "CREATED"]
        await nothing_pending(store)

    return check


async def scenario_history_merge(
    gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store
) -> Check:
    """Sources flagged, associations moved; the entries' write is cut: the journal
    finishes the merge and writes them from the flags."""
    target = await create_tag(gql, "Target")
    source = await create_tag(gql, "Source")
    await tag_resources(gql, [source["id"]], [("task", "1")])
    variables = {"input": {"targetId": target["id"], "sourceIds": [source["id"]]}}
    await cut_short(gql, monkeypatch, store, (HistoryStore, "insert"), MERGE, variables)

    async def check() -> None:
        assert await history_of(gql, source["id"]) == ["MERGED", "CREATED"]
        assert await history_of(gql, target["id"]) == ["UPDATED", "CREATED"]
        assert (await gql(USAGE, {"id": target["id"]})).ok()["tag"]["usageCount"] == 1

    return check


ARCHIVE = """mutation($input: ArchiveTagsInput!) {
  archiveTags(input: $input) { tags { id } userErrors { code } } }"""
IMPORT = """mutation($input: ImportTagsInput!) {
  importTags(input: $input) { created userErrors { code } } }"""


async def scenario_history_archive(
    gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store
) -> Check:
    """Two tags archived (their stub with them); the copy to the history is cut."""
    one, two = await create_tag(gql, "One"), await create_tag(gql, "Two")
    variables = {"input": {"workspaceId": WS, "ids": [one["id"], two["id"]]}}
    await cut_short(gql, monkeypatch, store, (HistoryStore, "insert"), ARCHIVE, variables)

    async def check() -> None:
        for tag in (one, two):
            assert await history_of(gql, tag["id"]) == ["ARCHIVED", "CREATED"]
        await nothing_pending(store)

    return check


async def scenario_history_import(
    gql: Executor, monkeypatch: pytest.MonkeyPatch, store: Store
) -> Check:
    """An import's tags are written; its entries' write is cut: the whole import is
    taken back, entries included (it did not answer success)."""
    tag = await create_tag(gql, "Kept")
    content = "name,description\r\nKept,changed\r\nNew,\r\n"
    variables = {"input": {"workspaceId": WS, "format": "CSV", "content": content}}
    await cut_short(gql, monkeypatch, store, (HistoryStore, "insert"), IMPORT, variables)

    async def check() -> None:
        docs = await store.database.tags.find({"ws": WS})
        assert [(d["name"], d.get("description")) for d in docs] == [("Kept", None)]
        assert await history_of(gql, tag["id"]) == ["CREATED"]
        assert await store.database.tag_changes.count({}) == 1
        await nothing_pending(store)

    return check


def store_visibility() -> Any:
    from storage import EVERYTHING

    return EVERYTHING


@pytest.mark.parametrize(
    "scenario",
    [
        scenario_add,
        scenario_remove,
        scenario_delete,
        scenario_merge,
        scenario_move,
        scenario_history_create,
        scenario_history_update,
        scenario_history_merge,
        scenario_history_archive,
        scenario_history_import,
    ],
)
async def test_an_interrupted_mutation_is_completed_once_the_store_is_back(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch, scenario: Scenario
) -> None:
    store.database.outage.timeout = 0.05
    check = await scenario(gql, monkeypatch, store)
    await back_and_recovered(store)
    await check()
    assert (await repair(store)).clean
    await asyncio.sleep(0)


# --- The event a mutation records, after its own writes committed ------------------------------

import contextlib  # noqa: E402

import httpx  # noqa: E402

from config.settings import Settings  # noqa: E402
from storage.errors import StoreRefused  # noqa: E402
from storage.events import MongoEventLog  # noqa: E402


@contextlib.asynccontextmanager
async def service(store: Store) -> Any:
    """The app on the test's store, with the event bus it builds for itself."""
    async with app_client(store, Settings(store_timeout_ms=100)) as (app, http):
        yield app, http


async def create_over_http(http: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": CREATE_TAG, "variables": {"input": {"workspaceId": WS, "name": name}}},
    )
    return response.json()


async def recorded(store: Store, tag_id: str) -> list[str]:
    events = store.database.db["events"]
    return [e["kind"] async for e in events.find({"tagId": tag_id}).sort("_id", 1)]


async def test_the_event_write_is_a_metered_store_call(gql: Executor, store: Store) -> None:
    async with service(store) as (app, http):
        assert type(app.state.bus._log) is MongoEventLog, "the suite's server has change streams"
        with_bus = await create_over_http(http, "Counted")
    assert "errors" not in with_bus
    # The same mutation without an event bus (the test executor has none).
    without = await gql(CREATE_TAG, {"input": {"workspaceId": WS, "name": "Uncounted"}})
    without.ok()
    assert with_bus["extensions"]["cost"]["dbRoundTrips"] == without.round_trips + 1


async def test_a_failed_event_write_never_fails_a_committed_mutation(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = MongoEventLog.append
    calls = 0

    async def outage_on_the_event_write(self: Any, docs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            store.database.outage.begin()  # only this write meets the outage
        await original(self, docs)

    monkeypatch.setattr(MongoEventLog, "append", outage_on_the_event_write)
    async with service(store) as (app, http):
        seen = app.state.bus.subscribe(WS)
        first = asyncio.create_task(anext(seen))
        while app.state.bus.subscriber_count(WS) == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1)  # the change stream opens asynchronously
        body = await create_over_http(http, "Committed")
        # The tag was committed, so the mutation reports success...
        assert "errors" not in body, body
        payload = body["data"]["createTag"]
        assert payload["userErrors"] == [] and payload["tag"]["name"] == "Committed"
        tag_id = payload["tag"]["id"]
        assert store.recovery.pending == 1
        store.database.outage.end()
        # ...and the service records the event by itself once the store answers.
        event = await asyncio.wait_for(first, 30)
        assert (event.kind.value, event.tag_id) == ("CREATED", tag_id)
        # The journal drops the fix-up once it returns, which may be after the
        # change stream delivered the event.
        deadline = asyncio.get_running_loop().time() + 30
        while store.recovery.pending:
            assert asyncio.get_running_loop().time() < deadline, "the fix-up stayed pending"
            await asyncio.sleep(0.05)
        await seen.aclose()
    assert calls == 2
    assert await recorded(store, tag_id) == ["CREATED"]


async def test_a_refused_event_write_is_logged_and_the_mutation_still_succeeds(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refused(self: Any, docs: Any) -> None:
        raise StoreRefused("OperationFailure", 2, "unknown operator: $nope")

    monkeypatch.setattr(MongoEventLog, "append", refused)
    async with service(store) as (_, http):
        body = await create_over_http(http, "Still made")
    assert "errors" not in body and body["data"]["createTag"]["userErrors"] == []
    assert store.recovery.pending == 0
    assert any("tag event" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


async def test_appending_the_same_events_again_records_each_once(store: Store) -> None:
    log = MongoEventLog(store.database)
    await log.ensure_indexes()
    docs = [{"ws": WS, "kind": "UPDATED", "tagId": f"tag_{n:024x}", "at": n} for n in range(3)]
    first, rest = docs[:1], docs
    # An attempt that wrote only the first event but whose answer was lost, then the retry.
    await log.append(first)
    await log.append(rest)
    await log.append(rest)
    for n in range(3):
        assert await recorded(store, f"tag_{n:024x}") == ["UPDATED"]
