"""The worst-case number of objects an operation can return, computed before execution.

Every object in a response counts once: each tag, resource, edge, connection,
`pageInfo`, payload and user error; scalars do not. A list multiplies what is
selected under it by the most items it can hold: a connection's `nodes` and
`edges` by its `first`/`last` (50 when neither is given), `children` by its
`first` (100 by default, every child of a tag when `first: null`), and the
other lists by the contract's own maxima (see LIST_BOUNDS). A page size outside
0..100 is counted as 100: the resolver refuses it, so it returns nothing.

Fields the executor merges (the same response key twice, or through several
fragments) count once, as they are answered once. Fragments are expanded with
memoization: a chain of fragments that each spread the next one twice costs
time linear in the document, not exponential. Introspection (`__schema`,
`__type`) is bounded by the schema itself and not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)

from config.limits import (
    DEFAULT_PAGE_SIZE,
    MAX_ARCHIVE_IDS,
    MAX_IMPORT_TAGS,
    MAX_PAGE_SIZE,
    MAX_RESOURCES_PER_BATCH,
    MAX_TAGS_PER_RESOURCE,
    MAX_TAGS_PER_WORKSPACE,
    MAX_TREE_DEPTH,
)
from storage.history import FIELDS as HISTORY_FIELDS

# The worst case one operation may reach. The heaviest legitimate reads stay far
# below it (a 100-tag page with parent, ancestors and children(first: 20) is
# 2 601 objects), and so does the largest write the contract allows selected
# in full (500 resources with their tags: about 51 000). A million, what three
# nested `children(first: 100)` reach, took 30 s of CPU and 500 MB.
MAX_OBJECTS = 100_000

# Lists without a page-size argument, with the most items the contract lets them hold.
LIST_BOUNDS: dict[tuple[str, str], int] = {
    ("Query", "nodes"): MAX_PAGE_SIZE,
    ("Query", "resourceTags"): MAX_TAGS_PER_RESOURCE,
    ("TaggedResource", "tags"): MAX_TAGS_PER_RESOURCE,
    ("Tag", "ancestors"): MAX_TREE_DEPTH,
    # (1.2) One FieldChange per field of a tag at most.
    ("TagChange", "changes"): len(HISTORY_FIELDS),
    ("AddTagsToResourcesPayload", "resources"): MAX_RESOURCES_PER_BATCH,
    ("RemoveTagsFromResourcesPayload", "resources"): MAX_RESOURCES_PER_BATCH,
    # (1.2) Every tag of the file, created or updated.
    ("ImportTagsPayload", "tags"): MAX_IMPORT_TAGS,
    ("ArchiveTagsPayload", "tags"): MAX_ARCHIVE_IDS,
}
# Any other list of objects (payload lists of created tags, user errors...):
# the largest input list of any operation.
DEFAULT_LIST_BOUND = MAX_RESOURCES_PER_BATCH
# `children(first: null)` lists every child of a tag.
UNBOUNDED_CHILDREN = MAX_TAGS_PER_WORKSPACE
CONNECTION_LISTS = frozenset({"nodes", "edges"})
INTROSPECTION = frozenset({"__schema", "__type", "__typename"})
# Counting stops growing here: anything this large is refused all the same.
CEILING = 10**15
MAX_INT_DIGITS = 20

# Fields collected under one selection: response key -> {id(node): (node, parent type name)}.
Collected = dict[str, dict[int, tuple[FieldNode, str]]]


class _Counter:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.variable_defaults: dict[str, ValueNode] = {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.collected_fragments: dict[str, Collected] = {}
        self.visiting: set[str] = set()
        self.costs: dict[frozenset[tuple[str, frozenset[int]]], tuple[int, int]] = {}
        # Whether the count read a variable: otherwise it holds for every request.
        self.read_variables = False

    # Collecting fields, as the executor merges them ---------------------------------

    def collect(self, selection_sets: Iterable[SelectionSetNode], type_name: str) -> Collected:
        collected: Collected = {}
        for selection_set in selection_sets:
            self._collect_into(collected, selection_set, type_name)
        return collected

    def _collect_into(
        self, collected: Collected, selection_set: SelectionSetNode, type_name: str
    ) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                collected.setdefault(key, {})[id(node)] = (node, type_name)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else type_name
                self._collect_into(collected, node.selection_set, condition)
            elif isinstance(node, FragmentSpreadNode):
                for key, nodes in self._fragment(node.name.value).items():
                    collected.setdefault(key, {}).update(nodes)

    def _fragment(self, name: str) -> Collected:
        found = self.collected_fragments.get(name)
        if found is not None:
            return found
        fragment = self.fragments.get(name)
        # Unknown fragments and cycles never get past validation; counted as nothing.
        if fragment is None or name in self.visiting:
            return {}
        self.visiting.add(name)
        found = self.collect([fragment.selection_set], fragment.type_condition.name.value)
        self.visiting.discard(name)
        self.collected_fragments[name] = found
        return found

    # Counting ------------------------------------------------------------------------

    def count(self, collected: Collected) -> tuple[int, int]:
        """(objects for one parent object, objects per item of the parent's page).

        The second is non-zero only under a connection, whose `nodes` and `edges`
        repeat once per item of the page its own field asked for."""
        key = frozenset((k, frozenset(nodes)) for k, nodes in collected.items())
        known = self.costs.get(key)
        if known is not None:
            return known
        fixed = per_item = 0
        for response_key, nodes in collected.items():
            objects = self._field(list(nodes.values()))
            if response_key in CONNECTION_LISTS and self._in_connection(nodes):
                per_item += objects
            else:
                fixed += objects
        result = (min(fixed, CEILING), min(per_item, CEILING))
        self.costs[key] = result
        return result

    def _in_connection(self, nodes: dict[int, tuple[FieldNode, str]]) -> bool:
        return any(parent.endswith("Connection") for _, parent in nodes.values())

    def _field(self, nodes: list[tuple[FieldNode, str]]) -> int:
        node, parent_name = nodes[0]
        name = node.name.value
        if name in INTROSPECTION:
            return 0
        parent = self.schema.get_type(parent_name)
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return 0
        field_type = get_nullable_type(definition.type)
        named = get_named_type(field_type)
        if not is_composite_type(named):
            return 0
        below = self.collect(
            [n.selection_set for n, _ in nodes if n.selection_set is not None], named.name
        )
        fixed, per_item = self.count(below)
        one = 1 + fixed
        if named.name.endswith("Connection"):
            one += max(self._page_size(n, definition) for n, _ in nodes) * per_item
        if is_list_type(field_type) and not (
            name in CONNECTION_LISTS and parent_name.endswith("Connection")
        ):
            one *= max(self._list_bound(parent_name, n, definition) for n, _ in nodes)
        return min(one, CEILING)

    def _page_size(self, node: FieldNode, definition: Any) -> int:
        for argument in ("first", "last"):
            value = self._argument(node, definition, argument)
            if isinstance(value, int) and not isinstance(value, bool):
                return _clamp(value)
        return DEFAULT_PAGE_SIZE

    def _list_bound(self, parent: str, node: FieldNode, definition: Any) -> int:
        if parent == "Tag" and node.name.value == "children":
            first = self._argument(node, definition, "first")
            if first is None:
                return UNBOUNDED_CHILDREN
            return _clamp(first) if isinstance(first, int) and not isinstance(first, bool) else 0
        if parent == "Query" and node.name.value == "nodes":
            ids = self._argument(node, definition, "ids")
            if isinstance(ids, ListValueNode):
                return min(len(ids.values), MAX_PAGE_SIZE)
            if isinstance(ids, list):
                return min(len(ids), MAX_PAGE_SIZE)
        return LIST_BOUNDS.get((parent, node.name.value), DEFAULT_LIST_BOUND)

    def _argument(self, node: FieldNode, definition: Any, name: str) -> Any:
        """The argument's value as the resolver will see it, as far as the count needs it:
        an int, None, a list (or a list literal); anything else is returned as is."""
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                self.read_variables = True
                variable = value.name.value
                if variable in self.variables:
                    return self.variables[variable]
                default = self.variable_defaults.get(variable)
                if default is None:
                    break
                value = default
            if isinstance(value, IntValueNode):
                # Over-long literals never get this far (see document_cache.py).
                return int(value.value) if len(value.value) <= MAX_INT_DIGITS else MAX_PAGE_SIZE
            if isinstance(value, NullValueNode):
                return None
            return value
        argument_definition = definition.args.get(name)
        if argument_definition is None:
            return None
        default = argument_definition.default_value
        return default if isinstance(default, int | type(None)) else None

    def operation(self, operation: OperationDefinitionNode) -> int:
        self.variable_defaults = {
            d.variable.name.value: d.default_value
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        root = {
            OperationType.QUERY: self.schema.query_type,
            OperationType.MUTATION: self.schema.mutation_type,
            OperationType.SUBSCRIPTION: self.schema.subscription_type,
        }[operation.operation]
        if root is None:
            return 0
        fixed, _ = self.count(self.collect([operation.selection_set], root.name))
        return fixed


def _clamp(value: int) -> int:
    return max(0, min(value, MAX_PAGE_SIZE))


def max_objects(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> tuple[int, bool]:
    """(the most objects `operation` can return, whether that number depends on variables)."""
    counter = _Counter(schema, document, variables or {})
    total = counter.operation(operation)
    return total, counter.read_variables
