"""Messages keep their msgid and values; catalogs load from .po or a fresh .mo."""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from i18n import LANGUAGES, Message, msg, translate
from i18n import messages as messages_module


def test_a_message_reads_as_its_english_text() -> None:
    message = msg("Give 1 to {max} tags.", max=100)
    assert message == "Give 1 to 100 tags."
    assert isinstance(message, str)
    assert message.msgid == "Give 1 to {max} tags."
    assert dict(message.params) == {"max": 100}
    assert pickle.loads(pickle.dumps(message)).msgid == message.msgid


def test_translation_with_values() -> None:
    message = msg("Give 1 to {max} tags.", max=100)
    assert translate(message, "en") == "Give 1 to 100 tags."
    assert translate(message, "de") == "Geben Sie 1 bis 100 Tags an."
    assert translate(message, "fr") == "Indiquez de 1 à 100 tags."
    assert translate(message, "es") == "Indique entre 1 y 100 etiquetas."
    assert translate(message, "ja") == "タグは 1～100 個指定してください。"  # noqa: RUF001


def test_a_value_that_is_a_message_is_translated_too() -> None:
    message = msg("{label} must not contain control characters.", label=Message("Resource id"))
    assert message == "Resource id must not contain control characters."
    assert translate(message, "de") == "Das Feld Ressourcen-ID darf keine Steuerzeichen enthalten."
    assert translate(message, "ja") == "リソース IDに制御文字を含めることはできません。"


def test_constants_and_unknown_text() -> None:
    assert translate("Tag not found.", "es") == "No se encontró la etiqueta."
    # Text no catalog knows (a value, a graphql-core message not listed) stays as it is.
    assert translate("Something else entirely.", "fr") == "Something else entirely."
    assert translate("Tag not found.", "xx") == "Tag not found."


def test_every_language_answers_differently() -> None:
    texts = {translate("Tag not found.", language) for language in LANGUAGES}
    assert len(texts) == len(LANGUAGES)


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(messages_module, "LOCALES", tmp_path)
    messages_module.catalog.cache_clear()
    yield tmp_path
    messages_module.catalog.cache_clear()


def _catalog(translation: str) -> Catalog:
    catalog = Catalog(locale="de", domain="tags")
    catalog.add("Tag not found.", translation)
    return catalog


def _write(path: Path, catalog: Catalog, *, compiled: bool, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    (write_mo if compiled else write_po)(buffer, catalog)
    path.write_bytes(buffer.getvalue())
    os.utime(path, (mtime, mtime))


def test_a_po_alone_is_compiled_in_memory(locales: Path) -> None:
    po = locales / "de" / "LC_MESSAGES" / "tags.po"
    _write(po, _catalog("Aus der PO-Datei."), compiled=False, mtime=1_000)
    assert translate("Tag not found.", "de") == "Aus der PO-Datei."
    assert not po.with_suffix(".mo").exists()


def test_a_fresh_mo_is_used_and_a_stale_one_is_not(locales: Path) -> None:
    po = locales / "de" / "LC_MESSAGES" / "tags.po"
    mo = po.with_suffix(".mo")
    _write(po, _catalog("Aus der PO-Datei."), compiled=False, mtime=1_000)
    _write(mo, _catalog("Aus der MO-Datei."), compiled=True, mtime=2_000)
    assert translate("Tag not found.", "de") == "Aus der MO-Datei."

    messages_module.catalog.cache_clear()
    os.utime(mo, (500, 500))  # the .po was edited after the last `make messages`
    assert translate("Tag not found.", "de") == "Aus der PO-Datei."


def test_fuzzy_entries_fall_back_to_english(locales: Path) -> None:
    catalog = Catalog(locale="de", domain="tags")
    catalog.add("Tag not found.", "Vielleicht falsch.", flags=["fuzzy"])
    _write(locales / "de" / "LC_MESSAGES" / "tags.po", catalog, compiled=False, mtime=1_000)
    assert translate("Tag not found.", "de") == "Tag not found."
