"""Every error carries `extensions.code`; unexpected faults are masked and logged.

Applied by the request pipeline (pipeline.py) and by the transports that
stream results.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from i18n import DEFAULT_LANGUAGE, N_, translate
from resolvers.errors import ErrorCode
from schema.extensions.core_messages import recognized
from schema.extensions.query_limits import is_token_limit_error
from storage import StoreUnavailable

log = logging.getLogger("tags.errors")

GENERIC_MESSAGE = N_("Internal server error.")
STORE_UNAVAILABLE = N_("The data store is unavailable; try again shortly.")


def _request_id(context: Any) -> str:
    return getattr(context, "request_id", "") or ""


def with_codes(errors: list[GraphQLError], context: Any) -> list[GraphQLError]:
    """Every error with an `extensions.code`, unexpected faults masked, and every
    message in the request's language. Idempotent."""
    request_id = _request_id(context)
    language = getattr(context, "language", None) or DEFAULT_LANGUAGE
    return [_translated(_coded(e, request_id), language) for e in errors]


def _translated(error: GraphQLError, language: str) -> GraphQLError:
    # A new error, never a changed one: parsed and validated documents are cached
    # with their errors, which later requests, in other languages, get again.
    if language == DEFAULT_LANGUAGE:
        return error
    english = error.message
    original = error.original_error
    if isinstance(original, GraphQLError) and original.message == english:
        # graphql-core locates a resolver's error as a copy with a plain-str
        # message; the raised one still knows its msgid and values.
        english = original.message
    message = translate(recognized(english), language)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


def _coded(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if error.extensions and "code" in error.extensions:
        return error
    if original is None or isinstance(original, GraphQLError):
        nested = original.extensions if isinstance(original, GraphQLError) else None
        default = (
            ErrorCode.QUERY_TOO_COMPLEX if is_token_limit_error(error) else ErrorCode.BAD_USER_INPUT
        )
        code = (nested or {}).get("code", default.value)
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={**(error.extensions or {}), "code": code},
        )
    extensions: dict[str, Any] = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
    if request_id:
        extensions["requestId"] = request_id
    message = GENERIC_MESSAGE
    # Only an outage says so; a command the store refused is an internal fault like any other.
    if isinstance(original, StoreUnavailable):
        message = STORE_UNAVAILABLE
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)


def log_unexpected(errors: list[GraphQLError], context: Any) -> None:
    """Tracebacks of unexpected faults go to the log only, tagged with the request id."""
    for error in errors:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            continue
        if isinstance(original, StoreUnavailable):
            # An outage is not a bug: one line per request, no traceback.
            log.warning("store unavailable (%s) for request %s", original, _request_id(context))
            continue
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or []) or "operation",
            _request_id(context),
            exc_info=original,
        )
