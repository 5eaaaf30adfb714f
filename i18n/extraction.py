"""What `make messages` extracts, and the same extraction for the catalog test.

Messages are marked where they are built: the helpers that raise them take
the English text as one of their arguments (the keywords below, with the
argument's position), `msg(...)` marks a message with values and `N_(...)` a
constant. `python -m i18n.extraction` prints pybabel's `-k` options.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_from_dir

ROOT = Path(__file__).resolve().parent.parent
# The service's own code; tests and benchmarks hold no message a client reads.
SOURCES: tuple[str, ...] = ("edge", "schema", "resolvers", "storage", "config", "i18n")

KEYWORDS: dict[str, tuple[int, ...]] = {
    "msg": (1,),
    "N_": (1,),
    # resolvers/errors.py and resolvers/authorization.py
    "invalid": (2,),
    "one": (2,),
    "Problem": (2,),
    "BadUserInput": (1,),
    "Forbidden": (1,),
    # schema/extensions/query_limits.py
    "too_complex": (1,),
    # edge/
    "Unauthenticated": (1,),
    "RequestError": (2,),
    "_plain_error": (2,),
}


def pybabel_keywords() -> list[str]:
    return [f"--keyword={name}:{','.join(map(str, spec))}" for name, spec in KEYWORDS.items()]


def extracted() -> Iterator[tuple[str, str, int]]:
    """(msgid, file, line) of every message the code marks, as pybabel extract finds them."""
    for source in SOURCES:
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / source,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=(),
            strip_comment_tags=True,
        ):
            if isinstance(message, str) and message:
                yield message, f"{source}/{filename}", line


if __name__ == "__main__":
    if sys.argv[1:] == ["keywords"]:
        print(" ".join(pybabel_keywords()))
    elif sys.argv[1:] == ["sources"]:
        print(" ".join(SOURCES))
    else:
        sys.exit("usage: python -m i18n.extraction keywords|sources")
