"""Store failures told apart: an outage is "unavailable" (and readiness 503); a
command the server refuses is an internal error whose cause is in the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bson.errors import InvalidDocument
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    InvalidOperation,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
    WTimeoutError,
)

from resolvers.authorization import DEV_PRINCIPAL
from schema import TagsSchema
from storage import (
    AuthorizedWorkspace,
    DuplicateKey,
    PartialInsert,
    Store,
    StoreRefused,
    StoreUnavailable,
    TagQuery,
    open_store,
)
from storage.collection import translate
from storage.recovery import Recovery
from storage.tags import TagStore
from tests.harness import Executor, free_port
from tests.harness import app_client as running_app
from tests.helpers import WS, create_tag

UNAVAILABLE = "The data store is unavailable; try again shortly."
TAGS = "query($ws: ID!) { tags(workspaceId: $ws) { totalCount nodes { id } } }"
BY_SLUG = "query($ws: ID!, $s: String!) { tagBySlug(workspaceId: $ws, slug: $s) { id } }"


# --- Classification, one driver exception at a time ---------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        ServerSelectionTimeoutError("no servers"),
        ConnectionFailure("refused"),
        AutoReconnect("reset"),
        NetworkTimeout("timed out"),
        NotPrimaryError("not primary", {"code": 10107}),
        WaitQueueTimeoutError("pool"),
        ExecutionTimeout("max time", 50),
        WTimeoutError("wtimeout", 64),
        OperationFailure("shutting down", 91),
        OperationFailure("stepped down", 189),
        OperationFailure("interrupted", 11602),
        BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 64}]}),
    ],
    ids=lambda e: f"{type(e).__name__}-{getattr(e, 'code', None)}",
)
def test_connection_failures_and_timeouts_are_unavailable(exc: Exception) -> None:
    assert type(translate(exc)) is StoreUnavailable


@pytest.mark.parametrize(
    ("exc", "code", "cause"),
    [
        (
            OperationFailure("x", 2, {"errmsg": "unknown operator: $nope", "code": 2}),
            2,
            "unknown operator: $nope",
        ),
        (
            OperationFailure("x", 51091, {"errmsg": "Regular expression is invalid"}),
            51091,
            "Regular expression is invalid",
        ),
        (OperationFailure("not authorized", 13), 13, "not authorized"),
        (
            BulkWriteError(
                {"writeErrors": [{"index": 0, "code": 121, "errmsg": "failed validation"}]}
            ),
            121,
            "failed validation",
        ),
        (InvalidDocument("key '\\x00' must not contain NUL"), None, "must not contain NUL"),
        (InvalidOperation("cannot use a closed client"), None, "closed client"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_refusals_are_internal_errors_carrying_the_servers_cause(
    exc: Exception, code: int | None, cause: str
) -> None:
    translated = translate(exc)
    assert type(translated) is StoreRefused
    assert translated.code == code
    assert cause in str(translated) and f"code {code}" in str(translated)


def test_duplicate_keys_stay_duplicate_keys_and_other_errors_pass_through() -> None:
    dup = translate(DuplicateKeyError("E11000", 11000, {"keyPattern": {"ws": 1, "slug": 1}}))
    assert isinstance(dup, DuplicateKey) and dup.fields == ("ws", "slug")
    bulk = BulkWriteError(
        {"writeErrors": [{"index": 1, "code": 11000, "keyPattern": {"ws": 1, "nameKey": 1}}]}
    )
    partial = translate(bulk, docs=3, ordered=False)
    assert isinstance(partial, PartialInsert) and partial.inserted == [0, 2]
    bug = ValueError("not the driver's")
    assert translate(bug) is bug


# --- Against the real server ----------------------------------------------------------------


@pytest.fixture
async def app_client(store: Store) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    async with running_app(store) as (app, http):
        yield app, http


async def test_a_refused_regex_is_refused_not_unavailable(store: Store, gql: Executor) -> None:
    # A server may check a pattern only when it has a document to match it against.
    await create_tag(gql, "Some tag")
    ws = AuthorizedWorkspace(WS)
    with pytest.raises(StoreRefused) as refused:
        await store.tags.count(ws, TagQuery(search_pattern="(", search_key="("))
    assert not isinstance(refused.value, StoreUnavailable)
    assert refused.value.code is not None


async def test_a_refused_command_is_an_internal_error_and_readiness_stays_up(
    app_client: tuple[Any, httpx.AsyncClient],
    gql: Executor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, http = app_client
    await create_tag(gql, "Bug")

    async def invalid_operator(self: TagStore, ws: AuthorizedWorkspace, slug: str) -> Any:
        # A test-only path: a query shape the server refuses reaches the store.
        return await self._tags.find_one({"ws": ws.id, "slug": {"$nope": slug}})

    monkeypatch.setattr(TagStore, "by_slug", invalid_operator)
    with caplog.at_level(logging.WARNING, logger="tags.errors"):
        response = await http.post(
            "/graphql",
            json={"query": BY_SLUG, "variables": {"ws": WS, "s": "bug"}},
            headers={"x-request-id": "refused-1"},
        )
    body = response.json()
    assert body["errors"][0]["message"] == "Internal server error."
    assert body["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": "refused-1",
    }
    assert "unavailable" not in response.text and "$nope" not in response.text
    # The operator reads the cause in the log: the server's code and message.
    logged = [r for r in caplog.records if r.name == "tags.errors"]
    assert logged and logged[-1].levelno == logging.ERROR
    assert logged[-1].exc_info is not None
    cause = str(logged[-1].exc_info[1])
    assert "code 2" in cause and "$nope" in cause
    assert (await http.get("/readyz")).status_code == 200


async def test_an_outage_is_unavailable_and_readiness_follows_it(
    app_client: tuple[Any, httpx.AsyncClient], store: Store
) -> None:
    _, http = app_client
    store.database.outage.timeout = 0.05
    store.database.outage.begin()
    try:
        response = await http.post("/graphql", json={"query": TAGS, "variables": {"ws": WS}})
        error = response.json()["errors"][0]
        assert error["message"] == UNAVAILABLE
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert (await http.get("/readyz")).status_code == 503
    finally:
        store.database.outage.end()
    assert (await http.get("/readyz")).status_code == 200


async def test_a_closed_port_is_unavailable_and_readiness_503(
    app_client: tuple[Any, httpx.AsyncClient], schema: TagsSchema
) -> None:
    app, http = app_client
    # Nothing listens there: the driver finds no server within the timeout.
    closed = open_store(f"mongodb://127.0.0.1:{free_port()}", "nowhere", timeout_ms=200)
    try:
        with pytest.raises(StoreUnavailable):
            await closed.ping()
        result = await Executor(schema, closed)(TAGS, {"ws": WS}, DEV_PRINCIPAL)
        assert [e["message"] for e in result.errors] == [UNAVAILABLE]
        assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
        working = app.state.store
        app.state.store = closed
        try:
            assert (await http.get("/readyz")).status_code == 503
        finally:
            app.state.store = working
        assert (await http.get("/readyz")).status_code == 200
    finally:
        closed.close()


async def test_duplicates_still_reach_callers_as_user_errors(gql: Executor) -> None:
    await create_tag(gql, "Twice")
    result = await gql(
        "mutation($i: CreateTagInput!) { createTag(input: $i) { userErrors { code } } }",
        {"i": {"workspaceId": WS, "name": "twice"}},
    )
    assert result.ok()["createTag"]["userErrors"] == [{"code": "NAME_TAKEN"}]


# --- The recovery journal ------------------------------------------------------------------


async def test_the_journal_waits_out_an_outage_but_drops_a_refused_fix_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Recovery()
    ran: list[str] = []
    down = True

    async def refused() -> None:
        ran.append("refused")
        raise StoreRefused("OperationFailure", 2, "unknown operator: $nope")

    async def needs_the_store() -> None:
        ran.append("store")
        if down:
            raise StoreUnavailable("ServerSelectionTimeoutError")

    journal.register("a refused step", refused)
    journal.register("a step", needs_the_store)
    with caplog.at_level(logging.ERROR, logger="tags.recovery"):
        assert await journal.run_pending() == 1
    # The refused fix-up was logged and dropped; the other one waits for the store.
    assert ran == ["refused", "store"]
    assert any("a refused step" in r.getMessage() for r in caplog.records)
    down = False
    assert await journal.run_pending() == 0
    assert ran == ["refused", "store", "store"]
