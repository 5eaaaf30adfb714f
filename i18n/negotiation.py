"""Choosing a response language from `Accept-Language` (RFC 9110 section 12.5.4)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from babel.core import negotiate_locale, parse_locale

DEFAULT_LANGUAGE = "en"
# The default first: a wildcard with nothing more specific picks it.
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "ja")

_RANGE = re.compile(r"\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def accept_language_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """Every Accept-Language field of raw ASGI headers, combined as one list (RFC 9110 5.3)."""
    return ",".join(
        value.decode("latin-1") for name, value in headers if name.lower() == b"accept-language"
    )


def language_ranges(header: str) -> list[tuple[str, float]]:
    """The well-formed entries of an Accept-Language value, lower-cased, with their weights.

    A malformed entry (bad range, bad or repeated weight, unknown parameter) is
    dropped on its own; the rest of the header still counts.
    """
    ranges: list[tuple[str, float]] = []
    for element in header.split(","):
        language_range, *parameters = (part.strip() for part in element.split(";"))
        if not language_range and not parameters:
            continue  # list syntax allows empty elements
        if not _RANGE.fullmatch(language_range) or len(parameters) > 1:
            continue
        weight = 1.0
        if parameters:
            name, equals, value = parameters[0].partition("=")
            if name.strip().lower() != "q" or not equals or not _QVALUE.fullmatch(value.strip()):
                continue
            weight = float(value)
        ranges.append((language_range.lower(), weight))
    return ranges


def _primary(language_range: str) -> str:
    try:
        return parse_locale(language_range, sep="-")[0].lower()
    except ValueError:
        # Private-use and other extensions Babel does not model: the primary subtag still counts.
        return language_range.split("-", 1)[0]


# Clients send a handful of distinct headers (a browser's is the same on every
# request), and negotiating one costs more than the rest of a cheap request's edge.
@functools.lru_cache(maxsize=512)
def negotiate(header: str | None) -> str:
    """The language to answer in: the most preferred one we have, else English.

    Higher weights win, the earlier range on a tie; a region falls back to its
    language (`de-CH` -> `de`); `q=0` excludes; `*` stands for any language no
    other range names. With nothing acceptable, English (the server may ignore
    the header rather than answer 406).
    """
    if not header:
        return DEFAULT_LANGUAGE
    ranges = language_ranges(header)
    excluded = {r for r, q in ranges if q == 0}
    available = [language for language in LANGUAGES if language not in excluded]
    named = {_primary(r) for r, _ in ranges if r != "*"}
    # sorted() is stable: equal weights keep the header's order.
    for language_range, _ in sorted((e for e in ranges if e[1] > 0), key=lambda e: -e[1]):
        if language_range == "*":
            unnamed = [language for language in available if language not in named]
            if unnamed:
                return unnamed[0]
            continue
        # An exact match, else the range's primary language (`de-CH-1996` -> `de`).
        found = negotiate_locale([language_range], available, sep="-", aliases={})
        if found is not None:
            return found.lower()
    return DEFAULT_LANGUAGE
