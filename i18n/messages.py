"""Translatable messages and the gettext catalogs that translate them.

The catalogs' sources are the committed `locales/<language>/LC_MESSAGES/tags.po`
files (`make messages` extracts, updates and compiles them). A compiled `.mo`
beside its `.po` is used when it is at least as new; otherwise the `.po` is
compiled in memory on first use, so a fresh clone needs no build step.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from i18n.negotiation import DEFAULT_LANGUAGE, LANGUAGES

DOMAIN = "tags"
LOCALES = Path(__file__).parent / "locales"


class Message(str):
    """English text built from a msgid and values, which it keeps for translation.

    It is a `str` (the English text), so code and logs that read messages as
    text are unaffected.
    """

    msgid: str
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Message:
        text = super().__new__(cls, msgid.format(**params) if params else msgid)
        text.msgid = msgid
        text.params = params
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.msgid, dict(self.params)))


def _rebuild(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def msg(msgid: str, /, **params: Any) -> Message:
    """A message with values: `msg("Name must be 1-{max} characters.", max=100)`.

    `make messages` extracts the first argument as the msgid; keep it a literal.
    """
    return Message(msgid, **params)


def N_(msgid: str) -> str:  # gettext's customary name for a no-op marker
    """Marks a literal as a msgid for extraction where no raising helper names it."""
    return msgid


def catalog_path(language: str, suffix: str = ".po") -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@functools.cache
def catalog(language: str) -> NullTranslations:
    """The translations of one language (English: the msgids themselves)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    po, mo = catalog_path(language), catalog_path(language, ".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    with po.open("rb") as source:
        entries = read_po(source, locale=language, domain=DOMAIN)
    compiled_in_memory = io.BytesIO()
    # Fuzzy entries are left out, as pybabel compile does: they fall back to English.
    write_mo(compiled_in_memory, entries)
    compiled_in_memory.seek(0)
    return Translations(compiled_in_memory, domain=DOMAIN)


def translate(message: str, language: str) -> str:
    """`message` in `language`; a message no catalog knows stays as it is (English)."""
    if language == DEFAULT_LANGUAGE:
        return str(message)
    translations = catalog(language)
    if not isinstance(message, Message):
        return translations.gettext(str(message))
    text = translations.gettext(message.msgid)
    if not message.params:
        return text
    values = {
        name: translate(value, language) if isinstance(value, Message) else value
        for name, value in message.params.items()
    }
    return text.format(**values)
