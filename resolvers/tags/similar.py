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
from storage.tags import SIMILAR_KEYS, compact_key, names_of, similar_lookup

SHORT_NAME = 5


def max_edits(name: str) -> int:
    return 1 if len(name) <= SHORT_NAME else 2


def prefilter(key: str, edits: int) -> list[str]:
    """The similarKeys every close tag has one of (storage/tags.py).

    A superset is enough: the exact rules run on what comes back. A tag within
    the edit limit has a search key whose characters, counted by group, are
    near the asked key's; one equal but for spaces and punctuation has the same
    compact form, whatever its length. A trailing `s` is one insertion.
    """
    return similar_lookup(key, edits)


def closeness(
    doc: Mapping[str, Any],
    wanted_name_key: str,
    wanted_key: str,
    edits: int,
    wanted_compact: str | None = None,
) -> tuple[int, int] | None:
    """(0 for a name equal without regard to case else 1, edits) of the best name; None: far."""
    if wanted_compact is None:
        wanted_compact = compact_key(wanted_key)
    # The stored similarKeys hold every name's compact form: most candidates
    # (those let through by their character counts) are told apart without computing one.
    stored = doc.get(SIMILAR_KEYS)
    maybe_compact = bool(wanted_compact) and (stored is None or wanted_compact in stored)
    best: tuple[int, int] | None = None
    for name_key_, key in names_of(doc):
        if name_key_ == wanted_name_key:
            found = (0, 0)
        elif maybe_compact and compact_key(key) == wanted_compact:
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
    wanted_compact = compact_key(wanted_key)
    candidates = await ctx.store.tags.similar_candidates(ws, prefilter(wanted_key, edits))
    scored: list[tuple[tuple[int, int, int, str], str]] = []
    for doc in candidates:
        close = closeness(doc, wanted_name_key, wanted_key, edits, wanted_compact)
        if close is not None:
            order = (close[0], close[1], -int(doc.get("usage", 0)), doc["nameKey"])
            scored.append((order, doc["_id"]))
    scored.sort()
    ids = [tag_id for _, tag_id in scored[:limit]]
    if not ids:
        return []
    loaded = await ctx.loaders.tag_by_id.load_many(ids)
    return [d for d in loaded if d is not None]
