"""Generated slugs: from the name, with a numeric suffix when the plain one is taken."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from resolvers.normalization import slug_with_suffix, slugify
from storage import AuthorizedWorkspace, Doc
from storage.tags import TagStore

# (was the slug generated?, the tag document carrying it)
Item = tuple[bool, Doc]


def generated(name: str, tag_id: str) -> str:
    """A name with no ASCII letters or digits gets a slug derived from the tag id."""
    return slugify(name) or tag_id.replace("_", "-")


def _base(doc: Doc) -> str:
    return generated(doc["name"], doc["_id"])


def _first_free(base: str, taken: set[str]) -> str:
    n = 2
    while slug_with_suffix(base, n) in taken:
        n += 1
    return slug_with_suffix(base, n)


def spread_within_batch(items: Sequence[Item]) -> None:
    """Generated slugs repeating an earlier slug of the same batch get a suffix."""
    used = {doc["slug"] for is_generated, doc in items if not is_generated}
    for is_generated, doc in items:
        if is_generated and doc["slug"] in used:
            doc["slug"] = _first_free(_base(doc), used)
        used.add(doc["slug"])


async def reassign(
    store: TagStore, ws: AuthorizedWorkspace, items: Sequence[Item], taken: Iterable[str]
) -> None:
    """Move generated slugs that the store already has to the first free suffix."""
    taken = set(taken)
    clashing = [doc for is_generated, doc in items if is_generated and doc["slug"] in taken]
    if not clashing:
        return
    for base in {_base(doc) for doc in clashing}:
        taken |= await store.slugs_like(ws, base)
    moving = {doc["_id"] for doc in clashing}
    used = taken | {doc["slug"] for _, doc in items if doc["_id"] not in moving}
    for doc in clashing:
        doc["slug"] = _first_free(_base(doc), used)
        used.add(doc["slug"])
