"""The Strawberry schema of the Tags service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.types import ExecutionContext, ExecutionResult

from schema.common import ErrorCodeEnum
from schema.extensions.cost import Cost
from schema.extensions.error_codes import ErrorCodes, log_unexpected, with_codes
from schema.extensions.query_limits import MAX_TOKENS, AliasLimit, DepthLimit
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import JSON, DateTime, JSONObject
from schema.subscription import Subscription
from schema.tag import Tag


class TagsSchema(strawberry.Schema):
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().execute(*args, **kwargs)
        # Errors raised inside extension hooks (a cached parse refusing a
        # document, say) skip the ErrorCodes hook: stamp them here too.
        if result.errors:
            context = kwargs.get("context_value", args[3] if len(args) > 3 else None)
            result.errors = with_codes(result.errors, context)
        return result

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        results = await super().stream(*args, **kwargs)
        context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
        return _with_codes_on_each(results, context)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (bad input, forbidden...) are not faults: log only the rest.
        log_unexpected(errors, execution_context.context if execution_context else None)


async def _with_codes_on_each(results: AsyncGenerator[Any, None], context: Any) -> Any:
    """A stream's results (WebSocket, SSE) with their errors coded and in the
    context's language, as `execute` gives them."""
    async with contextlib.aclosing(results):
        async for result in results:
            if isinstance(result, ExecutionResult) and result.errors:
                result.errors = with_codes(result.errors, context)
            yield result


def build_schema(*, introspection: bool = True, extensions: list[Any] | None = None) -> TagsSchema:
    # Extensions are classes or factories: Strawberry makes fresh instances per
    # operation, so no state is shared between concurrent requests.
    chosen: list[Any] = [
        ErrorCodes,
        Cost,
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(AddValidationRules, [DepthLimit, AliasLimit]),
        # SPAs send the same few documents over and over: parse and validate each once.
        partial(ParserCache, maxsize=512),
        partial(ValidationCache, maxsize=512),
    ]
    if not introspection:
        chosen.append(DisableIntrospection)
    return TagsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Tag, ErrorCodeEnum],
        extensions=[*chosen, *(extensions or [])],
        scalar_overrides={datetime: DateTime, JSON: JSONObject},
    )
