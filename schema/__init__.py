"""The Strawberry schema of the Tags service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    NoSchemaIntrospectionCustomRule,
    specified_rules,
)
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.base import StrawberryObjectDefinition

from schema.common import ErrorCodeEnum
from schema.extensions.document_cache import DocumentCache
from schema.extensions.error_codes import log_unexpected, with_codes
from schema.extensions.pipeline import RequestPipeline
from schema.extensions.query_limits import AliasLimit, DepthLimit
from schema.history import TagChange
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import JSON, DateTime, JSONObject
from schema.subscription import Subscription
from schema.tag import Tag


class TagsSchema(strawberry.Schema):
    # Set by build_schema: the parsed and validated documents of this schema.
    document_cache: DocumentCache

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


# Fields whose resolvers read nothing from `info` but `info.context` and take
# only scalar arguments: graphql-core calls them directly, without Strawberry's
# per-call argument conversion and Info wrapper (a third of the CPU a tag
# picker's 50 tags took). build_schema checks both conditions it can see.
DIRECT_FIELDS: dict[str, tuple[str, ...]] = {
    "Tag": ("parent", "ancestors", "children", "childCount", "usageCount", "resources"),
    "TaggedResource": ("tags", "tagCount"),
    "TagConnection": ("totalCount",),
    "TaggedResourceConnection": ("totalCount",),
}
DIRECT_ARGUMENT_TYPES = (str, int, bool, strawberry.ID)


def build_schema(*, introspection: bool = True, extensions: list[Any] | None = None) -> TagsSchema:
    rules: tuple[type[ASTValidationRule], ...] = (*specified_rules, DepthLimit, AliasLimit)
    if not introspection:
        rules = (*rules, NoSchemaIntrospectionCustomRule)
    # One cache per schema: what passed validation depends on the schema's rules.
    pipeline = partial(RequestPipeline, cache=DocumentCache(), rules=rules)
    schema = TagsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Tag, TagChange, ErrorCodeEnum],
        extensions=[pipeline, *(extensions or [])],
        scalar_overrides={datetime: DateTime, JSON: JSONObject},
    )
    schema.document_cache = pipeline.keywords["cache"]
    _resolve_directly(schema)
    return schema


def _resolve_directly(schema: TagsSchema) -> None:
    if schema.config.default_resolver is getattr:
        # Plain attributes: one getattr, as graphql-core's own default resolver does.
        for type_name, target in schema._schema.type_map.items():
            definition = schema.get_type_by_name(type_name)
            if not isinstance(target, GraphQLObjectType) or not isinstance(
                definition, StrawberryObjectDefinition
            ):
                continue
            for field in definition.fields:
                graphql_name = schema.config.name_converter.from_field(field)
                # Private attributes are listed too, but are no GraphQL fields.
                if field.is_basic_field and graphql_name in target.fields:
                    target.fields[graphql_name].resolve = _attribute(field.python_name)
    for type_name, field_names in DIRECT_FIELDS.items():
        definition = schema.get_type_by_name(type_name)
        target = schema._schema.type_map[type_name]
        assert isinstance(target, GraphQLObjectType)
        assert isinstance(definition, StrawberryObjectDefinition)
        by_name = {schema.config.name_converter.from_field(f): f for f in definition.fields}
        for name in field_names:
            field = by_name[name]
            resolver = field.base_resolver
            if (
                resolver is None
                or resolver.self_parameter is None
                or resolver.root_parameter is not None
                or field.extensions
                or field.permission_classes
            ):
                raise TypeError(f"{type_name}.{name} cannot be resolved directly")
            arguments = {}
            for argument in field.arguments:
                kind = argument.type
                inner = getattr(kind, "of_type", kind)
                if inner not in DIRECT_ARGUMENT_TYPES:
                    raise TypeError(f"{type_name}.{name}({argument.python_name}) needs conversion")
                arguments[schema.config.name_converter.from_argument(argument)] = (
                    argument.python_name
                )
            direct = _direct(resolver.wrapped_func, arguments, resolver.info_parameter is not None)
            target.fields[name].resolve = direct


def _attribute(name: str) -> Any:
    def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
        return getattr(source, name)

    return resolve


def _direct(function: Any, arguments: dict[str, str], wants_info: bool) -> Any:
    if not wants_info:
        if arguments:
            raise TypeError(f"{function.__qualname__}: arguments without info")

        def resolve_plain(source: Any, info: GraphQLResolveInfo) -> Any:
            return function(source)

        return resolve_plain
    if not arguments:

        def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
            return function(source, info)

        return resolve

    def resolve_with(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        return function(source, info, **{arguments[k]: v for k, v in kwargs.items()})

    return resolve_with
