"""Query limits from SERVICE.md, as graphql-core validation rules.

Depth counts field nesting including leaves; the introspection fields
`__schema` and `__type` do not count, so GraphiQL's own schema query passes.
Each rule reports at most one error with `extensions.code = QUERY_TOO_COMPLEX`.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from config.limits import MAX_QUERY_ALIASES, MAX_QUERY_DEPTH
from i18n import msg
from resolvers.errors import ErrorCode

INTROSPECTION_ROOTS = {"__schema", "__type"}


def too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


class _Measure:
    """Depth and alias count of selections; each fragment is measured once, so a
    document that spreads fragments many times costs no more than its size."""

    def __init__(self, context: ValidationContext) -> None:
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._depths: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        self._visiting: set[str] = set()

    def _fragment(self, name: str, memo: dict[str, int], measure: Any) -> int:
        if name in memo:
            return memo[name]
        fragment = self.fragments.get(name)
        # Unknown fragments and cycles are graphql-core's own rules' business.
        if fragment is None or name in self._visiting:
            return 0
        self._visiting.add(name)
        memo[name] = measure(fragment.selection_set)
        self._visiting.discard(name)
        return memo[name]

    def depth(self, selections: SelectionSetNode | None) -> int:
        if selections is None:
            return 0
        deepest = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                if node.name.value in INTROSPECTION_ROOTS:
                    continue
                deepest = max(deepest, 1 + self.depth(node.selection_set))
            elif isinstance(node, InlineFragmentNode):
                deepest = max(deepest, self.depth(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                deepest = max(deepest, self._fragment(node.name.value, self._depths, self.depth))
        return deepest

    def aliases(self, selections: SelectionSetNode | None) -> int:
        if selections is None:
            return 0
        count = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                count += (1 if node.alias else 0) + self.aliases(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                count += self.aliases(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                count += self._fragment(node.name.value, self._aliases, self.aliases)
        return count


class DepthLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if _Measure(self.context).depth(node.selection_set) > MAX_QUERY_DEPTH:
            self.report_error(
                too_complex(
                    msg("The operation is nested deeper than {max} levels.", max=MAX_QUERY_DEPTH)
                )
            )


class AliasLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if _Measure(self.context).aliases(node.selection_set) > MAX_QUERY_ALIASES:
            self.report_error(
                too_complex(
                    msg("The operation uses more than {max} aliases.", max=MAX_QUERY_ALIASES)
                )
            )


def is_token_limit_error(error: GraphQLError) -> bool:
    # graphql-core raises it as a syntax error: "Syntax Error: Document contains more than ..."
    message = error.message.removeprefix("Syntax Error: ")
    return "tokens" in message and message.startswith("Document contains more than")
