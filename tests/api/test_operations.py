"""What operators see: metrics, logs, CORS, and a graceful stop with requests in flight."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess

import httpx
import pytest

from config.settings import Settings
from observability.logs import JsonFormatter, log_request
from storage import Store
from tests.harness import app_client, service_env, start_server

NAMED = 'query PickerSearch { tags(workspaceId: "w", first: 5) { nodes { name } } }'


async def test_metrics_count_requests_by_operation_and_outcome(client: httpx.AsyncClient) -> None:
    await client.post("/graphql", json={"query": NAMED})
    await client.post("/graphql", json={"query": NAMED})
    await client.post("/graphql", json={"query": "{ nope }"})
    text = (await client.get("/metrics")).text
    assert 'tags_graphql_requests_total{operation="PickerSearch",outcome="ok"} 2.0' in text
    assert 'outcome="rejected"' in text
    assert "tags_graphql_request_duration_seconds_bucket" in text
    assert 'tags_store_round_trips_per_request_count{operation="PickerSearch"} 2.0' in text
    assert "tags_store_round_trips_total" in text


async def test_hostile_operation_names_do_not_grow_metrics(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post(
            "/graphql", json={"query": f"query op_{'x' * 70}{i} {{ viewer {{ id }} }}"}
        )
    text = (await client.get("/metrics")).text
    assert 'operation="other"' in text and "x" * 70 not in text


def test_json_log_lines_carry_request_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tags.access")
    log_request("req-1", "PickerSearch", "user-7", "ok", 0.0123, 3)
    record = caplog.records[-1]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "req-1" and entry["operation"] == "PickerSearch"
    assert entry["principal"] == "user-7" and entry["round_trips"] == 3
    assert entry["duration_ms"] == pytest.approx(12.3) and entry["level"] == "info"
    assert entry["time"].endswith("Z")


async def test_access_log_written_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tags.access")
    await client.post("/graphql", json={"query": NAMED}, headers={"x-request-id": "abc-123"})
    records = [r for r in caplog.records if r.name == "tags.access"]
    assert records and records[-1].request_id == "abc-123"  # type: ignore[attr-defined]
    assert records[-1].principal == "dev"  # type: ignore[attr-defined]


async def test_cors_preflight_and_exposed_header(store: Store) -> None:
    settings = Settings(cors_origins=("https://app.example",))
    async with app_client(store, settings) as (_, http):
        preflight = await http.options(
            "/graphql",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, authorization, x-api-key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"content-type", "authorization", "x-api-key", "x-request-id"} <= {
            h.strip() for h in allowed.split(",")
        }
        actual = await http.post(
            "/graphql", json={"query": NAMED}, headers={"origin": "https://app.example"}
        )
        assert actual.headers["access-control-expose-headers"].lower() == "x-request-id"
        other = await http.post(
            "/graphql", json={"query": NAMED}, headers={"origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_sigterm_lets_in_flight_requests_finish_or_answers_503_after_the_grace() -> None:
    process, base = start_server(output=subprocess.PIPE, **service_env())
    url = f"{base}/graphql"
    try:

        async def burst() -> list[httpx.Response]:
            create = 'mutation($tags: [TagDraft!]!) { createTags(input: {workspaceId: "w", tags: $tags}) { tags { id } userErrors { code } } }'
            async with httpx.AsyncClient(timeout=30) as http:
                calls = [
                    http.post(
                        url,
                        json={
                            "query": create,
                            "variables": {"tags": [{"name": f"t{n}-{i}"} for i in range(100)]},
                        },
                    )
                    for n in range(12)
                ]
                pending = asyncio.gather(*calls)
                await asyncio.sleep(0.3)
                process.send_signal(signal.SIGTERM)
                return await pending

        responses = asyncio.run(burst())
        errors, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in errors
    # Requests get a grace period, then are cancelled with 503 so that the process
    # exits within the contract's 10 s (tests/api/test_shutdown.py); none is lost.
    assert {r.status_code for r in responses} <= {200, 503}
    for r in responses:
        if r.status_code == 200:
            assert len(r.json()["data"]["createTags"]["tags"]) == 100
        else:
            assert "shutting down" in r.json()["errors"][0]["message"]
