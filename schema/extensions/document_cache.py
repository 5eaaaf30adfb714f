"""Documents checked once: parsed, validated and screened, cached by their text.

Single-page apps send the same few documents over and over, so each distinct
text is parsed and validated (graphql-core's rules, the depth and alias limits)
once, and the result kept. The cache is bounded by entries and by the total
characters of the texts it holds, since a parsed document takes memory in
proportion to its text (about 85 bytes per character of a dense one); a
document longer than MAX_DOCUMENT_CHARS is refused before it is parsed, so
comments and whitespace cannot carry one past the limits.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    Visitor,
    parse,
    visit,
)

from config.limits import MAX_QUERY_TOKENS
from i18n import msg
from resolvers.errors import ErrorCode
from schema.extensions.cost import MAX_INT_DIGITS
from schema.extensions.query_limits import too_complex

MAX_DOCUMENT_CHARS = 100_000
CACHE_ENTRIES = 512
CACHE_CHARS = 1_000_000


@dataclass(slots=True)
class Checked:
    """A parsed document and what validating it found, empty when it is valid."""

    document: DocumentNode
    errors: list[GraphQLError]
    # Worst-case object counts by operation name, for operations whose count
    # does not depend on the request's variables.
    objects: dict[str | None, int] = field(default_factory=dict)


class DocumentCache:
    """Least recently used documents, at most `entries` of them and `chars` characters in all."""

    def __init__(self, entries: int = CACHE_ENTRIES, chars: int = CACHE_CHARS) -> None:
        self.max_entries = entries
        self.max_chars = chars
        self.chars = 0
        self._documents: OrderedDict[str, Checked] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, text: str) -> Checked | None:
        found = self._documents.get(text)
        if found is not None:
            self._documents.move_to_end(text)
        return found

    def put(self, text: str, checked: Checked) -> None:
        if len(text) > self.max_chars or text in self._documents:
            return
        self._documents[text] = checked
        self.chars += len(text)
        while len(self._documents) > self.max_entries or self.chars > self.max_chars:
            oldest, _ = self._documents.popitem(last=False)
            self.chars -= len(oldest)


class _LongIntegers(Visitor):
    """Integer literals longer than any Int: graphql-core's own check converts them
    with int(), which Python refuses past 4 300 digits (an internal error)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: IntValueNode | None = None

    def enter_int_value(self, node: IntValueNode, *_: object) -> object:
        if len(node.value.lstrip("-")) > MAX_INT_DIGITS:
            self.found = node
            return self.BREAK
        return None


def check(schema: GraphQLSchema, text: str, rules: tuple[type[ASTValidationRule], ...]) -> Checked:
    """Parse and validate `text`; a syntax error (or the token limit) raises GraphQLError."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise too_complex(
            msg(
                "The document is longer than {max} characters; send large values as variables.",
                max=MAX_DOCUMENT_CHARS,
            )
        )
    document = parse(text, max_tokens=MAX_QUERY_TOKENS)
    screen = _LongIntegers()
    visit(document, screen)
    if screen.found is not None:
        error = GraphQLError(
            msg("Int cannot represent a number of more than {max} digits.", max=MAX_INT_DIGITS),
            screen.found,
            extensions={"code": ErrorCode.BAD_USER_INPUT.value},
        )
        return Checked(document, [error])
    # Imported here: strawberry.schema imports the extensions package.
    from strawberry.schema.schema import validate_document

    try:
        errors = validate_document(schema, document, rules)
    except RecursionError:
        errors = [too_complex(msg("The document nests fragments too deeply."))]
    return Checked(document, errors)
