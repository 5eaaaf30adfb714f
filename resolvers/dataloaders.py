"""Per-request DataLoaders: each batch is one store call, results mapped back by key.

Every loader reads through the caller's `Visibility`, so a tag in a workspace
the caller cannot see loads as missing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from storage import AuthorizedWorkspace, Doc, Store, Visibility
from storage.taggings import resource_key

# A resource in a workspace: (workspace id, resource key).
ResourceKey = tuple[str, str]
# A tag's related tags: (workspace id, tag id, how many).
RelatedKey = tuple[str, str, int]
# (1.2) A page of a tag's history: (workspace id, tag id, cursor values or None, how many).
HistoryKey = tuple[str, str, tuple[Any, ...] | None, int]
K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def load_now(loader: DataLoader[K, V], key: K) -> V | Awaitable[V]:
    """The value if the loader already holds it, else the awaitable load.

    Answering from the cache synchronously spares graphql-core an awaitable
    (and a task) per field, which is most of the cost of a list of tags.
    """
    future = _settled(loader, key)
    return future.result() if future is not None else loader.load(key)


def _settled(loader: DataLoader[K, V], key: K) -> asyncio.Future[V] | None:
    """The loader's future for `key` when it holds a value, else None."""
    future = loader.cache_map.get(key)
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return future
    return None


def then(awaitable: Awaitable[V], fn: Callable[[V], R]) -> Awaitable[R]:
    """A future that resolves to `fn` of the awaitable's result.

    Unlike a coroutine, a plain future costs graphql-core no extra task, which
    matters for fields repeated on every tag of a page (children, childCount).
    """
    source = asyncio.ensure_future(awaitable)
    result: asyncio.Future[R] = source.get_loop().create_future()

    def settle(done: asyncio.Future[V]) -> None:
        if result.cancelled():
            return
        if done.cancelled():
            result.cancel()
        elif (error := done.exception()) is not None:
            result.set_exception(error)
        else:
            try:
                result.set_result(fn(done.result()))
            except Exception as exc:  # handed to the field that awaits it
                result.set_exception(exc)

    source.add_done_callback(settle)
    return result


def held(loader: DataLoader[K, V], key: K) -> V | None:
    """The value the loader already holds for `key`, else None (nothing is loaded)."""
    future = _settled(loader, key)
    return future.result() if future is not None else None


@dataclass(slots=True)
class Loaders:
    """One DataLoader per concept, named `<value>_by_<key>` after what it returns and takes.

    Tag.parent/ancestors/node read `tag_by_id`; Tag.children and childCount read
    `children_by_parent_id` and `child_count_by_parent_id` (Mongo `parentId`);
    Tag.usageCount reads `usage_by_tag_id` (Mongo `usage`/`usageByType`, which
    `TagStore.usage_by_tag_id` projects); TaggedResource.tags reads
    `taggings_by_resource_key` (Mongo `rk`); Tag.related reads `related_by_tag_id`;
    Tag.resources reads `resources_by_tag_id` (Mongo `tagId`) for little used tags.
    (1.2) Tag.history reads `history_by_tag_id`, node(id:) of a TagChange `change_by_id`
    (both of the `tag_changes` collection).
    """

    tag_by_id: DataLoader[str, Doc | None]
    # Keyed by (workspace id, parent id): the workspace bounds the store's index scan.
    children_by_parent_id: DataLoader[tuple[str, str], list[Doc]]
    child_count_by_parent_id: DataLoader[tuple[str, str], int]
    usage_by_tag_id: DataLoader[str, Doc | None]
    taggings_by_resource_key: DataLoader[ResourceKey, list[Doc]]
    related_by_tag_id: DataLoader[RelatedKey, list[Doc]]
    # Keyed by (workspace id, tag id): every association of the tag, for Tag.resources.
    resources_by_tag_id: DataLoader[tuple[str, str], list[Doc]]
    history_by_tag_id: DataLoader[HistoryKey, list[Doc]]
    change_by_id: DataLoader[str, Doc | None]

    def prime_tags(self, docs: Iterable[Doc]) -> None:
        """Documents a request already holds answer later loads without a store call."""
        for doc in docs:
            self.tag_by_id.prime(doc["_id"], doc)
            if "usage" in doc:
                self.usage_by_tag_id.prime(doc["_id"], doc)


def build_loaders(store: Store, visible: Visibility) -> Loaders:
    loaders: Loaders

    async def load_tag_by_id(ids: Sequence[str]) -> list[Doc | None]:
        docs = await store.tags.by_ids(ids, visible)
        loaders.prime_tags(docs)
        found = {d["_id"]: d for d in docs}
        return [found.get(i) for i in ids]

    async def load_children_by_parent_id(parents: Sequence[tuple[str, str]]) -> list[list[Doc]]:
        grouped: defaultdict[tuple[str, str], list[Doc]] = defaultdict(list)
        docs = await store.tags.children_of(parents, visible)
        loaders.prime_tags(docs)
        for doc in docs:
            grouped[(doc["ws"], doc["parentId"])].append(doc)
        return [grouped.get(p, []) for p in parents]

    async def load_child_count_by_parent_id(parents: Sequence[tuple[str, str]]) -> list[int]:
        counts = await store.tags.child_counts(parents, visible)
        return [counts.get(parent_id, 0) for _, parent_id in parents]

    async def load_usage_by_tag_id(ids: Sequence[str]) -> list[Doc | None]:
        found = await store.tags.usage_by_tag_id(ids, visible)
        return [found.get(i) for i in ids]

    async def load_taggings_by_resource_key(keys: Sequence[ResourceKey]) -> list[list[Doc]]:
        grouped: defaultdict[ResourceKey, list[Doc]] = defaultdict(list)
        rows = await store.taggings.of_resources(
            {ws for ws, _ in keys}, {rk for _, rk in keys}, visible
        )
        for row in rows:
            grouped[(row["ws"], row["rk"])].append(row)
        return [grouped.get(k, []) for k in keys]

    async def load_related_by_tag_id(keys: Sequence[RelatedKey]) -> list[list[Doc]]:
        # One aggregation per workspace (a page of tags is one), for the most asked.
        by_ws: defaultdict[str, set[str]] = defaultdict(set)
        for ws, tag_id, _ in keys:
            by_ws[ws].add(tag_id)
        most = max(first for _, _, first in keys)
        found: dict[tuple[str, str], list[Doc]] = {}
        for ws, tag_ids in by_ws.items():
            rows = await store.taggings.related(AuthorizedWorkspace(ws), sorted(tag_ids), most)
            found.update({(ws, tag_id): top for tag_id, top in rows.items()})
        return [found.get((ws, tag_id), [])[:first] for ws, tag_id, first in keys]

    async def load_resources_by_tag_id(keys: Sequence[tuple[str, str]]) -> list[list[Doc]]:
        grouped: defaultdict[tuple[str, str], list[Doc]] = defaultdict(list)
        for row in await store.taggings.of_tags_in(keys, visible):
            grouped[(row["ws"], row["tagId"])].append(row)
        return [grouped.get(k, []) for k in keys]

    loaders = Loaders(
        tag_by_id=DataLoader(load_fn=load_tag_by_id),
        children_by_parent_id=DataLoader(load_fn=load_children_by_parent_id),
        child_count_by_parent_id=DataLoader(load_fn=load_child_count_by_parent_id),
        usage_by_tag_id=DataLoader(load_fn=load_usage_by_tag_id),
        taggings_by_resource_key=DataLoader(load_fn=load_taggings_by_resource_key),
        related_by_tag_id=DataLoader(load_fn=load_related_by_tag_id),
        resources_by_tag_id=DataLoader(load_fn=load_resources_by_tag_id),
        history_by_tag_id=DataLoader(load_fn=_history_by_tag_id(store)),
        change_by_id=DataLoader(load_fn=_change_by_id(store, visible)),
    )
    return loaders


def _history_by_tag_id(
    store: Store,
) -> Callable[[Sequence[HistoryKey]], Awaitable[list[list[Doc]]]]:
    """(1.2) Tag.history: visibility is the tag's own (the tag was loaded visibly)."""

    async def load_history_by_tag_id(keys: Sequence[HistoryKey]) -> list[list[Doc]]:
        # One call per (workspace, cursor, page size): a page of tags is one.
        groups: defaultdict[tuple[str, tuple[Any, ...] | None, int], list[str]] = defaultdict(list)
        for ws, tag_id, cursor, limit in keys:
            groups[(ws, cursor, limit)].append(tag_id)
        found: dict[HistoryKey, list[Doc]] = {}
        for (ws, cursor, limit), tag_ids in groups.items():
            wanted = [(tag_id, cursor) for tag_id in dict.fromkeys(tag_ids)]
            pages = await store.history.of_tags(AuthorizedWorkspace(ws), wanted, limit)
            for tag_id, docs in pages.items():
                found[(ws, tag_id, cursor, limit)] = docs
        return [found.get(k, []) for k in keys]

    return load_history_by_tag_id


def _change_by_id(
    store: Store, visible: Visibility
) -> Callable[[Sequence[str]], Awaitable[list[Doc | None]]]:
    async def load_change_by_id(ids: Sequence[str]) -> list[Doc | None]:
        docs = {d["_id"]: d for d in await store.history.by_ids(ids, visible)}
        return [docs.get(i) for i in ids]

    return load_change_by_id


def resource_key_in_workspace(workspace_id: str, rtype: str, rid: str) -> ResourceKey:
    return (workspace_id, resource_key(rtype, rid))
