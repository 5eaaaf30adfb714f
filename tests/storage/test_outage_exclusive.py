"""An outage in the middle of a replacement (1.1 exclusive parents): the journal rolls it forward."""

from __future__ import annotations

import pytest

from storage import EVERYTHING, Store
from storage.repair import repair
from storage.taggings import TaggingStore
from storage.tags import TagStore
from tests.harness import Executor
from tests.helpers import ADD_TAGS, WS, create_tag, tag_resources
from tests.storage.test_outage import back_and_recovered, outage_at

USAGE = "query($id: ID!) { tag(id: $id) { usageCount } }"


@pytest.mark.parametrize(
    ("cls", "method"),
    [
        # After the replaced child was taken off, before the new one is written.
        (TaggingStore, "insert"),
        # In the middle of taking the replaced child off (its counter not moved yet).
        (TagStore, "add_usage_many"),
    ],
)
async def test_a_replacement_cut_short_is_completed_once_the_store_is_back(
    gql: Executor, store: Store, monkeypatch: pytest.MonkeyPatch, cls: type, method: str
) -> None:
    store.database.outage.timeout = 0.05
    parent = await create_tag(gql, "Priority", exclusive=True)
    low = await create_tag(gql, "Low", parentId=parent["id"])
    high = await create_tag(gql, "High", parentId=parent["id"])
    other = await create_tag(gql, "Other")
    await tag_resources(gql, [low["id"], other["id"]], [("task", "1"), ("task", "2")])

    outage_at(monkeypatch, store, cls, method)
    result = await gql(
        ADD_TAGS,
        {
            "input": {
                "workspaceId": WS,
                "resources": [{"type": "task", "id": "1"}, {"type": "task", "id": "2"}],
                "tagIds": [high["id"]],
            }
        },
    )
    assert result.error_codes == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()
    await back_and_recovered(store)

    rows = await store.taggings.of_resources([WS], ["task\x1f1", "task\x1f2"], EVERYTHING)
    carried = sorted((r["rk"], r["tagId"]) for r in rows)
    assert carried == sorted(
        (f"task\x1f{n}", t) for n in (1, 2) for t in (high["id"], other["id"])
    ), "the resources end with the new child instead of the old one, never neither or both"
    usage = {
        t["id"]: (await gql(USAGE, {"id": t["id"]})).ok()["tag"]["usageCount"]
        for t in (low, high, other)
    }
    assert usage == {low["id"]: 0, high["id"]: 2, other["id"]: 2}
    assert (await repair(store)).clean
