"""Every message the code marks has a translation in every catalog, and no catalog
holds one the code no longer has. Fix a failure with `make messages`, then translate
the entries it leaves empty."""

from __future__ import annotations

import string
from collections import defaultdict

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from i18n import DEFAULT_LANGUAGE, LANGUAGES
from i18n.extraction import extracted
from i18n.messages import catalog_path

TRANSLATED = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]


@pytest.fixture(scope="module")
def in_code() -> dict[str, list[str]]:
    """msgid -> where the code marks it."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    for msgid, filename, line in extracted():
        found[msgid].append(f"{filename}:{line}")
    return dict(found)


def load(language: str) -> Catalog:
    with catalog_path(language).open("rb") as source:
        return read_po(source, locale=language)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_code_marks_the_messages_clients_read(in_code: dict[str, list[str]]) -> None:
    # One from each place messages are built: resolvers, the schema's limits,
    # graphql-core's own, the HTTP edge, authentication, the socket.
    for msgid in [
        "Name must be 1-{max} characters.",
        "This operation needs the {scope} scope.",
        "The operation is nested deeper than {max} levels.",
        "Syntax Error: Document contains more than {max} tokens. Parsing aborted.",
        "Cannot query field '{field}' on type '{type}'.",
        "The request body is larger than 1 MiB.",
        "Credentials are required.",
        "Unauthenticated.",
        "Internal server error.",
    ]:
        assert msgid in in_code


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str, in_code: dict[str, list[str]]) -> None:
    entries = {m.id: m for m in load(language) if m.id}
    missing = sorted(
        f"{msgid!r} ({in_code[msgid][0]})" for msgid in in_code if msgid not in entries
    )
    assert not missing, f"not in the {language} catalog: {missing}"
    untranslated = sorted(msgid for msgid in in_code if not entries[msgid].string)
    assert not untranslated, f"no {language} translation: {untranslated}"
    fuzzy = sorted(msgid for msgid in in_code if entries[msgid].fuzzy)
    assert not fuzzy, f"fuzzy in {language} (not used until reviewed): {fuzzy}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_stale_message(language: str, in_code: dict[str, list[str]]) -> None:
    catalog = load(language)
    stale = sorted(m.id for m in catalog if m.id and m.id not in in_code)
    assert not stale, f"the code no longer has these {language} msgids: {stale}"
    assert not catalog.obsolete, f"obsolete entries left in {language}: {list(catalog.obsolete)}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    for entry in load(language):
        if entry.id and entry.string:
            assert isinstance(entry.id, str) and isinstance(entry.string, str)
            assert placeholders(entry.string) == placeholders(entry.id), entry.id
            # str.format must accept it (a stray brace would raise only at run time).
            names = dict.fromkeys(placeholders(entry.id), "x")
            entry.string.format(**names)


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_says_its_language(language: str) -> None:
    catalog = load(language)
    assert str(catalog.locale) == language
    assert catalog.charset.lower() == "utf-8"
