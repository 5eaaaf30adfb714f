"""Input rules of the Tags service: normalization, validation and derived keys.

Everything here is pure (no I/O, no clock except `new_tag_id`) so the same rules
apply identically to createTag, updateTag, createTags and addTagsToResources.
Validators raise `UserFailure` with code VALIDATION via `invalid(path, ...)`;
`path` is the input field path that the payload reports in `UserError.field`.
Messages end up in front of end users, so they state the rule, never the
offending value or any internals.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import time
import unicodedata

from config.limits import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_METADATA_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_RESOURCE_ID_LENGTH,
    MAX_RESOURCE_TYPE_LENGTH,
    MAX_SLUG_LENGTH,
)
from i18n import N_, Message, msg
from resolvers.errors import invalid

__all__ = [
    "PALETTE",
    "RESOURCE_TYPE_RE",
    "SLUG_RE",
    "TAG_ID_RE",
    "category_key",
    "default_color",
    "escape_regex",
    "is_tag_id",
    "name_key",
    "new_tag_id",
    "normalize_category",
    "normalize_color",
    "normalize_description",
    "normalize_metadata",
    "normalize_name",
    "normalize_resource_ref",
    "normalize_slug",
    "reject_invisible",
    "search_key",
    "slug_with_suffix",
    "slugify",
    "text_color",
]


# General category Cc is immutable under Unicode's stability policy, so a fixed
# character class is exact and scans in C instead of a per-character Python loop.
_CC_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
# Description is multi-line free text, so tab and newline are allowed there.
# Carriage return is not: it would let "\r\n" and "\n" texts differ invisibly.
_CC_EXCEPT_TAB_NL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# In a Python str every surrogate code point is unpaired: a valid pair would
# already have been decoded into one astral code point.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

# Contract 1.1: invisible and direction-changing characters, which make two
# different names look alike. The joiners U+200C/U+200D are left out on
# purpose: emoji sequences need them.
_INVISIBLE_RE = re.compile(
    "[\u061c\u115f\u1160\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069"
    "\u3164\ufeff\uffa0\U000e0000-\U000e007f]"
)

# Explicit character classes rather than \w or \d: those match non-ASCII
# letters and digits, which the contract forbids.
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLUG_JUNK_RE = re.compile(r"[^a-z0-9]+")
_COLOR_RE = re.compile(r"#?([0-9a-fA-F]{6})")
_NORMALIZED_COLOR_RE = re.compile(r"#[0-9a-f]{6}")
RESOURCE_TYPE_RE = re.compile(rf"[A-Za-z][A-Za-z0-9_.:-]{{0,{MAX_RESOURCE_TYPE_LENGTH - 1}}}")
TAG_ID_RE = re.compile(r"tag_[0-9a-f]{24}")

# Letters that NFKD leaves whole, so stripping combining marks would not fold
# them; without this "Straße" would lose its "ß" instead of becoming "strasse".
_SLUG_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "ø": "o",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "ŧ": "t",
    }
)

# Backslash before any non-alphanumeric ASCII character means "this literal" in
# both Python `re` and PCRE, so one escaping serves tests and MongoDB alike.
# `-`, `/` and `#` are not special in a plain pattern but are escaped anyway:
# `-` matters inside a class, `/` in /regex/ literals, `#` under the x flag.
_REGEX_SPECIAL = frozenset("\\^$.|?*+()[]{}-/#")

# Mid-saturation hues spread around the wheel plus a brown and a slate, so that
# neighbouring tags rarely look alike and both text colors stay legible.
PALETTE: tuple[str, ...] = (
    "#e53935",
    "#d81b60",
    "#8e24aa",
    "#5e35b1",
    "#3949ab",
    "#1e88e5",
    "#039be5",
    "#00acc1",
    "#00897b",
    "#43a047",
    "#7cb342",
    "#c0ca33",
    "#fdd835",
    "#fb8c00",
    "#6d4c41",
    "#546e7a",
)

# A 48-bit millisecond clock lasts until the year 10889; the mask only keeps a
# wildly wrong clock from widening the id past its fixed length.
_MS_MASK = (1 << 48) - 1


def has_forbidden_chars(text: str) -> bool:
    """Control characters (Unicode Cc) or unpaired surrogates anywhere in `text`."""
    return bool(_SURROGATE_RE.search(text) or _CC_RE.search(text))


def _reject_bad_chars(raw: str, *, path: tuple[str, ...], label: str, cc: re.Pattern[str]) -> None:
    # Checked before NFC/strip: trimming would otherwise silently swallow a
    # leading/trailing newline that the contract says must be rejected.
    if _SURROGATE_RE.search(raw):
        raise invalid(path, msg("{label} must be valid Unicode text.", label=Message(label)))
    if cc.search(raw):
        raise invalid(
            path, msg("{label} must not contain control characters.", label=Message(label))
        )


def reject_invisible(raw: str, *, path: tuple[str, ...], label: str) -> None:
    """VALIDATION at `path` when `raw` holds an invisible or direction-changing character.

    The one check for every text the contract protects from look-alikes:
    names, categories and (1.1) aliases; `label` is the msgid of the text's
    name (`N_("Name")`). Like control characters it is made on the raw input,
    so trimming cannot hide one at either end.
    """
    if _INVISIBLE_RE.search(raw):
        message = msg(
            "{label} must not contain invisible or direction-changing characters.",
            label=Message(label),
        )
        raise invalid(path, message)


def normalize_name(raw: str, *, path: tuple[str, ...]) -> str:
    """Return the display name to store: NFC, trimmed, inner whitespace collapsed."""
    _reject_bad_chars(raw, path=path, label=N_("Name"), cc=_CC_RE)
    reject_invisible(raw, path=path, label=N_("Name"))
    # str.split() with no argument splits on every Unicode whitespace
    # (no-break space, ideographic space...), not just ASCII space.
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise invalid(path, msg("Name must be 1-{max} characters.", max=MAX_NAME_LENGTH))
    return name


def name_key(name: str) -> str:
    """Key for case-insensitive uniqueness and ordering of names."""
    # casefold, not lower: "Straße" and "STRASSE" must conflict.
    return unicodedata.normalize("NFC", name.casefold())


def search_key(text: str) -> str:
    """Case- and accent-insensitive key; apply to stored names and to queries alike."""
    # Decompose first so accents become separate marks that can be dropped;
    # NFKD also folds compatibility forms such as ligatures and full-width letters.
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Final NFC recomposes what NFKD split but is not a mark (e.g. Hangul jamo).
    return unicodedata.normalize("NFC", bare.casefold())


def escape_regex(text: str) -> str:
    """Escape `text` so that, as a regex, it matches exactly itself."""
    # Non-ASCII is left alone: a backslash before it is not a literal escape in
    # every engine, and no non-ASCII character is a metacharacter.
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def normalize_slug(raw: str, *, path: tuple[str, ...]) -> str:
    """Validate an explicitly given slug; it is not lowercased or repaired."""
    _reject_bad_chars(raw, path=path, label=N_("Slug"), cc=_CC_RE)
    slug = unicodedata.normalize("NFC", raw).strip()
    if not 1 <= len(slug) <= MAX_SLUG_LENGTH:
        raise invalid(path, msg("Slug must be 1-{max} characters.", max=MAX_SLUG_LENGTH))
    # Rejected rather than lowercased: silently storing something other than
    # what the caller asked for would break tagBySlug lookups with their value.
    if not SLUG_RE.fullmatch(slug):
        raise invalid(
            path,
            "Slug must be lowercase letters, digits and single hyphens, "
            "with no hyphen at the start or end.",
        )
    return slug


def slugify(name: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Generate a slug from a normalized name; "" when it has no ASCII letter or digit."""
    # Lowercase before the letter map so "Æ" and "Ł" hit their lowercase
    # entries, and again after NFKD because compatibility forms such as the
    # Fraktur H (U+210C) decompose to an uppercase ASCII letter.
    text = name.lower().translate(_SLUG_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    slug = _SLUG_JUNK_RE.sub("-", text).strip("-")
    # Cutting can expose a hyphen at the new end, which a slug may not have.
    return slug[:max_length].rstrip("-")


def slug_with_suffix(base: str, n: int) -> str:
    """`base-n`, with `base` shortened so the result stays within the slug limit."""
    if n < 0:
        # A negative number would produce "--n", which is not a valid slug.
        raise ValueError("slug suffix must not be negative")
    suffix = f"-{n}"
    head = base[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-")
    return f"{head}{suffix}"


def normalize_color(raw: str, *, path: tuple[str, ...]) -> str:
    """Return `#rrggbb` lowercase from 6 hex digits with or without `#`."""
    message = N_("Color must be 6 hex digits, such as #1a2b3c.")
    # A control character would otherwise be trimmed away by strip() and pass.
    if _SURROGATE_RE.search(raw) or _CC_RE.search(raw):
        raise invalid(path, message)
    match = _COLOR_RE.fullmatch(raw.strip())
    if match is None:
        raise invalid(path, message)
    return "#" + match.group(1).lower()


def default_color(name: str) -> str:
    """Palette color for a tag created without one; equal for equal name keys."""
    # sha256 rather than hash(): str hashes are salted per process, and the
    # contract promises the same name always gets the same color.
    digest = hashlib.sha256(name_key(name).encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:8], "big") % len(PALETTE)]


def _relative_luminance(color: str) -> float:
    if not _NORMALIZED_COLOR_RE.fullmatch(color):
        # Only stored, already normalized colors reach here; anything else is a
        # programming error, not user input.
        raise ValueError(f"not a normalized #rrggbb color: {color!r}")

    def linear(channel: str) -> float:
        c = int(channel, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color(color: str) -> str:
    """`#000000` or `#ffffff`, whichever has the higher WCAG 2 contrast on `color`."""
    lum = _relative_luminance(color)
    # Black and white have luminance 0 and 1, which fixes the numerators.
    on_black = (lum + 0.05) / 0.05
    on_white = 1.05 / (lum + 0.05)
    return "#000000" if on_black >= on_white else "#ffffff"


def normalize_description(raw: str | None, *, path: tuple[str, ...]) -> str | None:
    """Return the description to store, or None when absent or blank."""
    if raw is None:
        return None
    _reject_bad_chars(raw, path=path, label=N_("Description"), cc=_CC_EXCEPT_TAB_NL_RE)
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        return None
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise invalid(
            path, msg("Description must be at most {max} characters.", max=MAX_DESCRIPTION_LENGTH)
        )
    return text


def normalize_category(raw: str | None, *, path: tuple[str, ...]) -> str | None:
    """Return the category to store, or None when absent or blank."""
    if raw is None:
        return None
    _reject_bad_chars(raw, path=path, label=N_("Category"), cc=_CC_RE)
    reject_invisible(raw, path=path, label=N_("Category"))
    # Inner whitespace is kept: the contract collapses it for names only.
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        return None
    if len(text) > MAX_CATEGORY_LENGTH:
        raise invalid(path, msg("Category must be 1-{max} characters.", max=MAX_CATEGORY_LENGTH))
    return text


def category_key(category: str) -> str:
    """Key for the case-insensitive category filter."""
    return name_key(category)


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _check_metadata_key(key: object, *, where: tuple[str, ...]) -> str:
    if not isinstance(key, str):
        # json.dumps would quietly turn 1 into "1"; what is stored must be
        # exactly what was validated.
        raise invalid(where, "Metadata keys must be text.")
    if _SURROGATE_RE.search(key):
        # Reported at the parent: the key itself cannot be echoed back in JSON.
        raise invalid(where, "Metadata must be valid Unicode text.")
    at = (*where, key)
    if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
        raise invalid(
            at, msg("Metadata keys must be 1-{max} characters.", max=MAX_METADATA_KEY_LENGTH)
        )
    if key.startswith("$"):
        # MongoDB reads $-prefixed keys as operators.
        raise invalid(at, "Metadata keys must not start with '$'.")
    if "." in key:
        # MongoDB reads dots as paths into nested documents.
        raise invalid(at, "Metadata keys must not contain '.'.")
    if "\x00" in key:
        # BSON stores keys as NUL-terminated strings, so the database would refuse it.
        raise invalid(at, "Metadata keys must not contain control characters.")
    return key


def _copy_metadata_value(value: object, *, where: tuple[str, ...], depth: int) -> object:
    # `depth` is the level `value` would occupy if it is a container. Checking
    # before descending also bounds recursion for hostile, deeply nested input.
    if isinstance(value, dict | list) and depth > MAX_METADATA_DEPTH:
        raise invalid(
            where, msg("Metadata must be nested at most {max} levels deep.", max=MAX_METADATA_DEPTH)
        )
    if isinstance(value, dict):
        return _copy_metadata_object(value, where=where, depth=depth)
    if isinstance(value, list):
        return [
            _copy_metadata_value(item, where=(*where, str(i)), depth=depth + 1)
            for i, item in enumerate(value)
        ]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # BSON integers are 64-bit; a larger one would fail at write time
        # as an internal error instead of a user error.
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise invalid(where, "Metadata numbers must fit in 64 bits.")
        return value
    if isinstance(value, float):
        # JSON has no NaN or Infinity.
        if not math.isfinite(value):
            raise invalid(where, "Metadata numbers must be finite.")
        return value
    if isinstance(value, str):
        if _SURROGATE_RE.search(value):
            raise invalid(where, "Metadata must be valid Unicode text.")
        return value
    raise invalid(where, "Metadata values must be JSON.")


def _copy_metadata_object(
    obj: dict[object, object], *, where: tuple[str, ...], depth: int
) -> dict[str, object]:
    copied: dict[str, object] = {}
    for raw_key, item in obj.items():
        key = _check_metadata_key(raw_key, where=where)
        copied[key] = _copy_metadata_value(item, where=(*where, key), depth=depth + 1)
    return copied


def normalize_metadata(value: object, *, path: tuple[str, ...]) -> dict[str, object]:
    """Validate tag metadata and return a fresh copy; None means `{}`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(path, "Metadata must be a JSON object.")
    # Structure first: it pinpoints the offending element and its depth guard
    # makes the serialization below safe from runaway recursion.
    copied = _copy_metadata_object(value, where=path, depth=1)
    serialized = json.dumps(copied, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if len(serialized.encode("utf-8")) > MAX_METADATA_BYTES:
        raise invalid(
            path, msg("Metadata must be at most {max} bytes as JSON.", max=MAX_METADATA_BYTES)
        )
    return copied


def normalize_resource_ref(rtype: str, rid: str, *, path: tuple[str, ...]) -> tuple[str, str]:
    """Validate a (type, id) resource reference; both are returned unchanged."""
    # No trimming or NFC for either: both are keys of the host platform, and
    # rewriting them could point at a different resource than the host meant.
    if not RESOURCE_TYPE_RE.fullmatch(rtype):
        raise invalid(
            (*path, "type"),
            "Resource type must be 1-64 letters, digits, '_', '-', '.' or ':', "
            "starting with a letter.",
        )
    _reject_bad_chars(rid, path=(*path, "id"), label=N_("Resource id"), cc=_CC_RE)
    if not 1 <= len(rid) <= MAX_RESOURCE_ID_LENGTH:
        raise invalid(
            (*path, "id"),
            msg("Resource id must be 1-{max} characters.", max=MAX_RESOURCE_ID_LENGTH),
        )
    return rtype, rid


def is_tag_id(value: str) -> bool:
    """True for a well-formed tag id (`tag_` + 24 lowercase hex digits)."""
    return TAG_ID_RE.fullmatch(value) is not None


def new_tag_id() -> str:
    """A fresh tag id whose first 12 hex digits are the creation time in ms."""
    # Time first so ids (and keyset cursors over them) sort by creation time;
    # 48 random bits make a clash within one millisecond negligible.
    millis = (time.time_ns() // 1_000_000) & _MS_MASK
    return f"tag_{millis:012x}{secrets.token_hex(6)}"
