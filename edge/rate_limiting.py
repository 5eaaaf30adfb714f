"""SERVICE.md 1.1 rate limits: TAGS_RATE_LIMIT requests per minute per principal.

What counts: every request to /graphql that gets past its body checks and its
credentials (a query, a mutation, an SSE stream: one each), and every
`subscribe` message on a WebSocket (one per operation it starts). The
WebSocket upgrade and its `connection_init` do not count, nor do /healthz,
/readyz, /metrics and the GraphiQL page. A refused request counts too, so a
client that keeps hammering stays refused until its window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.authentication import Credentials
from i18n import msg, translate
from resolvers.errors import ErrorCode
from storage import Store


@dataclass(frozen=True, slots=True)
class RateLimit:
    # Requests per minute per principal; 0 means none (dev mode, TAGS_RATE_LIMIT=0).
    per_minute: int

    @classmethod
    def configure(cls, *, auth_mode: str, rate_limit: int) -> RateLimit:
        """From TAGS_AUTH_MODE and TAGS_RATE_LIMIT: `dev` mode has no rate limit."""
        return cls(per_minute=rate_limit if auth_mode == "required" else 0)

    async def retry_after(self, credentials: Credentials, store: Store) -> int | None:
        """Counts one request: None when it may run, else the whole seconds to wait."""
        if self.per_minute <= 0:
            return None
        return await store.rate_limits.hit(credentials.rate_key, self.per_minute)

    def error(self, retry_after: int, language: str) -> dict[str, Any]:
        """The one error of a refused request (HTTP body, or a WebSocket `error` payload item)."""
        message = msg(
            "Rate limit exceeded: {limit} requests per minute; retry in {seconds} s.",
            limit=self.per_minute,
            seconds=retry_after,
        )
        return {
            "message": translate(message, language),
            "extensions": {"code": ErrorCode.RATE_LIMITED.value, "retryAfter": retry_after},
        }
