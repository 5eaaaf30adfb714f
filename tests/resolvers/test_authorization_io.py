"""Tenancy of exportTags and importTags (1.2): a principal of workspace A can neither read
nor change workspace B through a file, and a file's names and parent slugs are looked up
in its own workspace only. (Their scopes are in tests/resolvers/test_authorization.py's matrix.)"""

from __future__ import annotations

import json

from resolvers.authorization import ADMIN, Principal
from storage import Store
from tests.harness import Executor
from tests.resolvers.test_authorization import WS_A, WS_B, raw_snapshot, seed_workspace

EXPORT = "query($ws: ID!) { exportTags(workspaceId: $ws) { content tagCount } }"
IMPORT = """mutation($input: ImportTagsInput!) { importTags(input: $input) {
  created updated unchanged tags { name workspaceId parent { workspaceId } }
  userErrors { code field } } }"""
IN_A = Principal(id="alice", scopes=(ADMIN,), workspace_ids=(WS_A,))


def _import(ws: str, content: str) -> dict[str, object]:
    return {"input": {"workspaceId": ws, "format": "CSV", "content": content}}


async def test_another_workspace_is_forbidden_and_unchanged(gql: Executor, store: Store) -> None:
    await seed_workspace(gql, WS_B)
    before = await raw_snapshot(store)
    export = await gql(EXPORT, {"ws": WS_B}, principal=IN_A)
    assert export.error_codes == ["FORBIDDEN"] and export.data is None
    for dry_run in (True, False):
        variables = _import(WS_B, "name\r\nIntruder\r\n")
        variables["input"]["dryRun"] = dry_run  # type: ignore[index]
        result = await gql(IMPORT, variables, principal=IN_A)
        assert result.error_codes == ["FORBIDDEN"]
    assert await raw_snapshot(store) == before


async def test_names_and_parents_are_matched_in_the_files_workspace_only(
    gql: Executor, store: Store
) -> None:
    await seed_workspace(gql, WS_B)
    b_before = await raw_snapshot(store, WS_B)
    # "alpha" is a slug of workspace B only: not a parent for a tag of A.
    refused = (await gql(IMPORT, _import(WS_A, "name,parent\r\nX,alpha\r\n"), principal=IN_A)).ok()
    assert refused["importTags"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["content", "1", "parent"]}
    ]
    # "Alpha" and "Beta" exist in B: in A they are new tags, and B is left alone.
    done = (await gql(IMPORT, _import(WS_A, "name\r\nAlpha\r\nBeta\r\n"), principal=IN_A)).ok()
    assert done["importTags"]["created"] == 2
    assert {t["workspaceId"] for t in done["importTags"]["tags"]} == {WS_A}
    assert await raw_snapshot(store, WS_B) == b_before
    exported = (await gql(EXPORT, {"ws": WS_A}, principal=IN_A)).ok()["exportTags"]
    assert [t["name"] for t in json.loads(exported["content"])["tags"]] == ["Alpha", "Beta"]
