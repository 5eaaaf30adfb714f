"""The one schema extension of every operation: checked documents, limits, cost, error codes.

One extension rather than one per concern: Strawberry runs every extension's
hooks on every request, and a document that passed once is cached by its text
(see document_cache.py), so all that remains per request is a dictionary
look-up, the object count when it depends on variables, and the response's
`extensions.cost`.

Passed to the schema as a factory: Strawberry makes a fresh instance per
operation, so nothing but the document cache is shared between requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ASTValidationRule, GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension

from i18n import msg
from schema.extensions.cost import MAX_OBJECTS, max_objects
from schema.extensions.document_cache import Checked, DocumentCache, check
from schema.extensions.error_codes import with_codes
from schema.extensions.query_limits import too_complex


class RequestPipeline(SchemaExtension):
    def __init__(self, *, cache: DocumentCache, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.cache = cache
        self.rules = rules
        self.checked: Checked | None = None
        self.max_objects = 0
        self.executed = False

    def on_operation(self) -> Iterator[None]:
        yield
        # Every top-level error carries `extensions.code`; unexpected faults are masked.
        result = self.execution_context.result
        if result and result.errors:
            result.errors = with_codes(result.errors, self.execution_context.context)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query
        if text is not None:
            checked = self.cache.get(text)
            if checked is None:
                checked = check(context.schema._schema, text, self.rules)
                self.cache.put(text, checked)
            context.graphql_document = checked.document
            self.checked = checked
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        checked = self.checked
        if checked is not None:
            errors = checked.errors
            if not errors:
                errors = self._refuse_if_too_costly(checked)
            # Strawberry skips its own validation when errors are already set.
            context.pre_execution_errors = errors
        yield

    def _refuse_if_too_costly(self, checked: Checked) -> list[GraphQLError]:
        context = self.execution_context
        name = context.operation_name
        count = checked.objects.get(name)
        if count is None:
            operation = get_operation_ast(checked.document, name)
            if operation is None:
                return []
            count, varies = max_objects(
                context.schema._schema, checked.document, operation, context.variables
            )
            if not varies:
                checked.objects[name] = count
        self.max_objects = count
        if count <= MAX_OBJECTS:
            return []
        error = too_complex(
            msg(
                "The operation could return up to {count} objects; the limit is {max}. "
                "Ask for smaller pages (`first`) or fewer nested lists.",
                count=count,
                max=MAX_OBJECTS,
            )
        )
        error.extensions = {**(error.extensions or {}), "maxObjects": count, "limit": MAX_OBJECTS}
        return [error]

    def on_execute(self) -> Iterator[None]:
        self.executed = True
        context = self.execution_context.context
        if hasattr(context, "operation_name"):
            context.operation_name = self.execution_context.operation_name
        yield

    def get_results(self) -> dict[str, Any]:
        # Only an operation that passed validation (and so may have made store calls).
        if not self.executed:
            return {}
        meter = getattr(self.execution_context.context, "meter", None)
        return {
            "cost": {
                "dbRoundTrips": meter.round_trips if meter else 0,
                "maxObjects": self.max_objects,
            }
        }
