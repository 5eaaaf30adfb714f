"""GraphQL over HTTP: request parsing, content negotiation and response shaping.

Kept out of the framework so the status codes and media types follow the
GraphQL-over-HTTP spec exactly, and responses are serialized with orjson.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from strawberry.types import ExecutionResult

from i18n import msg

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class RequestError(Exception):
    """The HTTP request itself is unusable; answered without executing anything."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def accept_entries(accept: str) -> Iterator[tuple[str, float]]:
    """Each entry of an Accept header as (media type in lower case, quality); a bad q is 0."""
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        yield media.lower(), quality


def choose_media_type(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when nothing acceptable."""
    if not accept:
        return JSON
    best: tuple[float, int, str] | None = None
    for position, (media, quality) in enumerate(accept_entries(accept)):
        if media in (GRAPHQL_RESPONSE, "application/*", "*/*"):
            candidate = GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else JSON
        elif media == JSON:
            candidate = JSON
        else:
            continue
        if quality <= 0:
            continue
        # Higher quality wins; on a tie the earlier entry does.
        if best is None or quality > best[0]:
            best = (quality, -position, candidate)
    return best[2] if best else None


def parse_params(params: Mapping[str, Any], *, from_url: bool) -> GraphQLRequest:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "A GraphQL request needs a `query` string.")
    variables = params.get("variables")
    extensions = params.get("extensions")
    if from_url:
        variables = _json_param(variables, "variables")
        extensions = _json_param(extensions, "extensions")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object.")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object.")
    name = params.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string.")
    return GraphQLRequest(query, variables, name or None, extensions)


def _json_param(raw: Any, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, msg("`{name}` is not valid JSON.", name=name)) from None


def parse_body(body: bytes, content_type: str | None) -> GraphQLRequest:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != JSON:
        raise RequestError(415, "Send the request as application/json.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RequestError(400, "The request body must be a JSON object.")
    return parse_params(data, from_url=False)


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def result_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    # No `data` key at all when execution never started (parse/validation errors).
    if result.data is not None or not result.errors or _executed(result):
        body["data"] = result.data
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def _executed(result: ExecutionResult) -> bool:
    return bool(result.extensions and "cost" in result.extensions)


def status_for(body: Mapping[str, Any], media_type: str) -> int:
    if media_type == GRAPHQL_RESPONSE and "data" not in body:
        return 400
    return 200


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)
