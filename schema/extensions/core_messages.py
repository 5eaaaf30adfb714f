"""graphql-core's own messages (syntax, validation, variables), made translatable.

graphql-core builds its messages as finished English text. Those a client
meets most are listed here as templates: a message matching one becomes a
`Message` with the template as msgid, so it is translated like the service's
own. A `{detail}` is itself recognized, so a nested message is translated too;
names, types and values stay as they were. Any other graphql-core message
stays English.
"""

from __future__ import annotations

import functools
import re
import string

from i18n import N_, Message

TEMPLATES: tuple[str, ...] = (
    # More specific templates first: the first one that matches is used.
    N_("Syntax Error: Document contains more than {max} tokens. Parsing aborted."),
    N_("Syntax Error: {detail}"),
    N_("Cannot query field '{field}' on type '{type}'. Did you mean {suggestions}?"),
    N_("Cannot query field '{field}' on type '{type}'."),
    N_("Unknown argument '{argument}' on field '{field}'. Did you mean {suggestions}?"),
    N_("Unknown argument '{argument}' on field '{field}'."),
    N_("Argument '{argument}' of type '{type}' is required, but it was not provided."),
    N_(
        "Field '{field}' of type '{type}' must have a selection of subfields."
        " Did you mean '{field} {{ ... }}'?"
    ),
    N_("Field '{field}' must not have a selection since type '{type}' has no subfields."),
    N_("Unknown type '{type}'. Did you mean {suggestions}?"),
    N_("Unknown type '{type}'."),
    N_("Variable '${name}' is not defined."),
    N_("Variable '${name}' is never used."),
    N_("Variable '${name}' has invalid value: {detail}"),
    N_("Expected a value of non-null type '{type}' to be provided."),
    N_("Expected value of non-null type '{type}' not to be None."),
    N_("Expected value of type '{type}' to include required field '{field}', found: {value}."),
    N_("Expected value of type '{type}' not to include unknown field '{field}', found: {value}."),
    N_("Int cannot represent non-integer value: {value}"),
    N_("Int cannot represent non 32-bit signed integer value: {value}"),
    N_("ID cannot represent a non-string and non-integer value: {value}"),
    N_("String cannot represent a non string value: {value}"),
    N_("Boolean cannot represent a non boolean value: {value}"),
)

NESTED = "detail"


def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return re.compile("".join(parts), re.DOTALL)


@functools.cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((template, _pattern(template)) for template in TEMPLATES)


def recognized(text: str) -> str:
    """`text` as a `Message` when it is a graphql-core message listed here, else as it is."""
    if isinstance(text, Message):
        return text
    for template, pattern in _patterns():
        match = pattern.fullmatch(text)
        if match is not None:
            params = {
                name: recognized(value) if name == NESTED else value
                for name, value in match.groupdict().items()
            }
            return Message(template, **params)
    return text
