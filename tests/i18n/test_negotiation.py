"""Accept-Language negotiation (RFC 9110 12.5.4): weights, wildcard, regions, exclusions."""

from __future__ import annotations

import pytest

from i18n import LANGUAGES, accept_language_of, negotiate
from i18n.negotiation import language_ranges

CASES: list[tuple[str | None, str]] = [
    # Nothing, or nothing usable: English.
    (None, "en"),
    ("", "en"),
    ("   ", "en"),
    ("xx", "en"),
    ("zh-Hant-TW, ko;q=0.9", "en"),
    # Garbage is dropped entry by entry; the good entries still count.
    ("garbage;;;", "en"),
    ("@@@, de", "de"),
    ("de;q=abc, fr", "fr"),
    ("de;q=1.5, fr;q=0.5", "fr"),
    ("de;q=0.5;q=0.9, es;q=0.1", "es"),
    ("de;level=1, ja;q=0.2", "ja"),
    ("toolonglanguage, es", "es"),
    ("d e, fr", "fr"),
    ("ja;q=0.0001, fr;q=0.001", "fr"),
    # Plain languages, any case, with whitespace and empty list elements.
    ("de", "de"),
    ("FR", "fr"),
    (" , ja , ", "ja"),
    ("es\t;\tq=0.8", "es"),
    # Weights: the highest wins, the earlier on a tie, missing means 1.
    ("fr;q=0.5, de;q=0.8", "de"),
    ("es;q=0.9, ja;q=0.9", "es"),
    ("ja;q=0.9, es;q=0.9", "ja"),
    ("fr;q=0.7, es", "es"),
    ("de;q=1.000, fr", "de"),
    ("de;Q=0.3, fr;q=0.2", "de"),
    # Regions and other subtags fall back to the language.
    ("de-CH", "de"),
    ("de-CH-1996", "de"),
    ("fr-CA;q=0.8, en-GB;q=0.5", "fr"),
    ("es-419", "es"),
    ("ja-JP, en-US;q=0.5", "ja"),
    ("en-US-x-twain", "en"),
    # Unknown languages are skipped for the next acceptable one.
    ("pt-BR, it;q=0.9, fr;q=0.1", "fr"),
    # q=0 excludes.
    ("de;q=0, fr;q=0.1", "fr"),
    ("de;q=0", "en"),
    ("en;q=0, ja;q=0.1", "ja"),
    ("de;q=0, de-CH", "en"),
    ("de-CH;q=0, de", "de"),
    # The wildcard: any language no other range names; English first.
    ("*", "en"),
    ("de;q=0.5, *", "en"),
    ("en;q=0.1, *", "de"),
    ("en;q=0, *", "de"),
    ("en;q=0, de;q=0, *;q=0.5", "fr"),
    ("*;q=0.5, ja", "ja"),
    ("*;q=0", "en"),
    ("en, de, fr, es, ja;q=0, *", "en"),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_every_language_can_be_chosen() -> None:
    assert {negotiate(language) for language in LANGUAGES} == set(LANGUAGES)
    assert {negotiate(f"{language.upper()}-XX;q=0.4") for language in LANGUAGES} == set(LANGUAGES)


def test_ranges_keep_only_well_formed_entries() -> None:
    assert language_ranges("de-CH;q=0.5, *;q=0.1, 12, fr;q=2, es;x=1, ja") == [
        ("de-ch", 0.5),
        ("*", 0.1),
        ("ja", 1.0),
    ]


def test_several_header_fields_are_one_list() -> None:
    headers = [
        (b"accept-language", b"fr;q=0.2"),
        (b"accept", b"application/json"),
        (b"Accept-Language", b"ja;q=0.5"),
    ]
    combined = accept_language_of(headers)
    assert combined == "fr;q=0.2,ja;q=0.5"
    assert negotiate(combined) == "ja"
