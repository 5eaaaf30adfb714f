"""The driver client the storage layer opens."""

from __future__ import annotations

from storage.client import open_database
from tests.harness import store_uri


def test_writes_are_not_retried_by_the_driver() -> None:
    # A retry overlapping a still-running first attempt applies a `$inc` twice on
    # SecantusDB; the recovery journal, not the driver, completes a timed-out write.
    database = open_database(store_uri(), "tags_client_options", timeout_ms=1000)
    try:
        assert database.client.options.retry_writes is False
        assert database.client.options.pool_options.socket_timeout == 2.0
    finally:
        database.close()
