"""The injectable store outage: the fault-injection seam of the resilience tests and bench.

`Outage.begin()` makes every store call behave as if the server had become
unreachable: the call waits up to the configured timeout for the store to come
back, then fails with StoreUnavailable, as the driver would. `end()` brings the
store back and releases the waiting calls.

It lives in production code, not in the tests, because the seam must sit where
a real outage is felt: the `Collection` boundary (storage/collection.py) checks
it before every call it sends, so the resilience tests (tests/storage/test_outage.py,
tests/storage/test_errors.py) and `make bench` exercise the service's real
outage handling rather than a stand-in. When no outage is injected it costs one
attribute check per call.
"""

from __future__ import annotations

import asyncio

from storage.errors import StoreUnavailable


class Outage:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.active = False
        self._over = asyncio.Event()

    def begin(self) -> None:
        self.active = True
        self._over = asyncio.Event()

    def end(self) -> None:
        self.active = False
        self._over.set()

    async def block(self) -> None:
        """Wait for the store like a driver would, failing after the timeout."""
        try:
            await asyncio.wait_for(self._over.wait(), self.timeout)
        except TimeoutError:
            raise StoreUnavailable("ServerSelectionTimeoutError") from None
