"""similarTags: "did you mean…?" before a tag is created.

Close means (the contract): equal once case, accents, spaces and punctuation
are ignored; or one trailing `s` apart; or within 1 edit (names of up to 5
characters) or 2 edits (longer names), an edit being an insertion, deletion,
substitution or swap of two neighbours (optimal string alignment distance,
computed by rapidfuzz). The edit limit follows the length of the name asked
about.

The store does not send the whole workspace: a regex on the folded name lets
through only tags whose length is within the edit limit (a distance is never
below the length difference) or whose letters and digits are exactly the asked
name's with any other characters between (the "ignore spaces and
punctuation" rule). Only the key fields come back; the few closest tags are
then loaded in full.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from rapidfuzz.distance import OSA

from config.limits import MAX_NAME_LENGTH, MAX_SIMILAR_TAGS
from i18n import msg
from resolvers.authorization import READ
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.normalization import has_forbidden_chars, name_key, search_key
from storage import Doc
from storage.tags import REGEX_MAX, names_of

SHORT_NAME = 5
# Every character that may stand between the letters and digits of a name.
_NOT_ALNUM = "[^0-9a-z]"


def compact(key: str) -> str:
    """A folded name without spaces and punctuation: only its letters and digits."""
    return "".join(c for c in key if c.isalnum())


def max_edits(name: str) -> int:
    return 1 if len(name) <= SHORT_NAME else 2


def prefilter(key: str, edits: int) -> str | None:
    """An anchored regex every close tag's folded name matches (None: too long to send).

    A superset is enough: the exact rules run on what comes back. Letters other
    than a-z stand for themselves and are also let through by the class of
    other characters, which only widens the set.
    """
    low, high = max(1, len(key) - edits), len(key) + edits
    window = f".{{{low},{high}}}"
    letters = compact(key)
    if not letters:
        pattern = f"^(?:{window})$"
    else:
        spaced = "".join(f"{_NOT_ALNUM}*{c}" for c in letters) + f"{_NOT_ALNUM}*"
        pattern = f"^(?:{window}|{spaced})$"
    return pattern if len(pattern) <= REGEX_MAX else None


def closeness(
    doc: Mapping[str, Any], wanted_name_key: str, wanted_key: str, edits: int
) -> tuple[int, int] | None:
    """(0 for a name equal without regard to case else 1, edits) of the best name; None: far."""
    wanted_compact = compact(wanted_key)
    best: tuple[int, int] | None = None
    for name_key_, key in names_of(doc):
        if name_key_ == wanted_name_key:
            found = (0, 0)
        elif wanted_compact and compact(key) == wanted_compact:
            found = (1, 0)
        else:
            distance = OSA.distance(wanted_key, key, score_cutoff=edits)
            if distance <= edits:
                found = (1, distance)
            elif key == wanted_key + "s" or wanted_key == key + "s":
                found = (1, 1)
            else:
                continue
        if best is None or found < best:
            best = found
    return best


async def similar_tags(ctx: Context, workspace_id: str, name: str, first: int | None) -> list[Doc]:
    ws = ctx.principal.workspace(workspace_id, READ)
    limit = 5 if first is None else first
    if not 0 <= limit <= MAX_SIMILAR_TAGS:
        raise BadUserInput(
            msg("{argument} must be between 0 and {max}.", argument="first", max=MAX_SIMILAR_TAGS)
        )
    if has_forbidden_chars(name):
        raise BadUserInput("name must not contain control characters.")
    # Normalized as a name is before it is stored; one that could never be stored
    # is still compared, as long as it could be one's near miss.
    wanted = " ".join(unicodedata.normalize("NFC", name).split())
    if not wanted or len(wanted) > MAX_NAME_LENGTH + 2 or limit == 0:
        return []
    wanted_key = search_key(wanted)
    wanted_name_key = name_key(wanted)
    edits = max_edits(wanted)
    candidates = await ctx.store.tags.similar_candidates(ws, prefilter(wanted_key, edits))
    scored: list[tuple[tuple[int, int, int, str], str]] = []
    for doc in candidates:
        close = closeness(doc, wanted_name_key, wanted_key, edits)
        if close is not None:
            order = (close[0], close[1], -int(doc.get("usage", 0)), doc["nameKey"])
            scored.append((order, doc["_id"]))
    scored.sort()
    ids = [tag_id for _, tag_id in scored[:limit]]
    if not ids:
        return []
    loaded = await ctx.loaders.tag_by_id.load_many(ids)
    return [d for d in loaded if d is not None]
