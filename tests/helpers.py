"""Operations and small builders shared by the tests."""

from __future__ import annotations

from typing import Any

from tests.harness import Executor

WS = "ws-main"
OTHER_WS = "ws-other"

TAG_FIELDS = """
  id workspaceId name slug color textColor description category metadata createdBy
  depth createdAt updatedAt
"""

CREATE_TAG = f"""
mutation Create($input: CreateTagInput!) {{
  createTag(input: $input) {{
    tag {{ {TAG_FIELDS} parent {{ id }} }}
    userErrors {{ code field message }}
    clientMutationId
  }}
}}
"""

UPDATE_TAG = f"""
mutation Update($input: UpdateTagInput!) {{
  updateTag(input: $input) {{
    tag {{ {TAG_FIELDS} parent {{ id }} ancestors {{ id }} }}
    userErrors {{ code field message }}
    clientMutationId
  }}
}}
"""

DELETE_TAG = """
mutation Delete($input: DeleteTagInput!) {
  deleteTag(input: $input) {
    deletedTagIds removedTaggingsCount
    userErrors { code field message }
  }
}
"""

ADD_TAGS = """
mutation Add($input: AddTagsToResourcesInput!) {
  addTagsToResources(input: $input) {
    resources { type id tagCount tags { id name } }
    createdTags { id name }
    addedCount
    userErrors { code field message }
  }
}
"""


async def create_tag(
    gql: Executor, name: str, workspace: str = WS, **fields: Any
) -> dict[str, Any]:
    """Create a tag that must succeed; returns the tag as the API shows it."""
    result = await gql(CREATE_TAG, {"input": {"workspaceId": workspace, "name": name, **fields}})
    payload = result.ok()["createTag"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["tag"]


async def tag_resources(
    gql: Executor, tag_ids: list[str], resources: list[tuple[str, str]], workspace: str = WS
) -> int:
    result = await gql(
        ADD_TAGS,
        {
            "input": {
                "workspaceId": workspace,
                "resources": [{"type": t, "id": i} for t, i in resources],
                "tagIds": tag_ids,
            }
        },
    )
    payload = result.ok()["addTagsToResources"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return int(payload["addedCount"])
