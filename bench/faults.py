"""The store goes away mid-load and comes back: the report's section.

The scenario itself is `devtools.outage`, shared with tests/storage/test_outage.py.
"""

from __future__ import annotations

import statistics

from devtools.outage import scenario
from devtools.store import store_uri


async def report() -> list[str]:
    timeout_ms = 300
    out = await scenario(store_uri(), clients=32, seconds=15.0, timeout_ms=timeout_ms)
    failed = sorted(out.failed_fast)
    during = sorted(out.failed_in_outage)
    lines = [
        f"32 concurrent in-process clients ran mixed mutations and reads for 15 s "
        f"({out.requests} requests); from 5 s to 10 s every store call failed as if the "
        f"store were unreachable (timeout {timeout_ms} ms, `TAGS_STORE_TIMEOUT_MS`).",
        "",
        f"- Requests answered with an error: {len(failed)} (latency median "
        f"{statistics.median(failed) * 1000:.0f} ms, max {failed[-1] * 1000:.0f} ms, including "
        "multi-step mutations already in flight when the store went away)"
        if failed
        else "- No request failed.",
        f"- Requests that started during the outage: {out.started_in_outage}, of which "
        f"{len(during)} failed (the others reached the store only after it was back); latency of those failures: median "
        f"{statistics.median(during) * 1000:.0f} ms, p95 {during[int(len(during) * 0.95)] * 1000:.0f} ms, "
        f"max {during[-1] * 1000:.0f} ms"
        if during
        else "- No request started during the outage.",
        f"- Error messages seen: {', '.join(sorted(out.failed_messages)) or 'none'}",
        "- /readyz: " + ", ".join(f"{when} {status}" for when, status in out.readiness),
        f"- Interrupted operations completed {out.recovered_after:.2f} s after the store came back; "
        f"still pending at the end: {out.pending_after}",
        f"- Acknowledged tag creations: {len(out.acknowledged_tags)}; lost: {len(out.lost)} "
        f"(deletes answered with an error: {len(out.delete_failed)}, of which the service "
        f"completed {out.completed_deletes} once the store was back)",
        f"- Repair routine afterwards: {'nothing to fix' if out.repair and out.repair.clean else out.repair}",
    ]
    return lines
