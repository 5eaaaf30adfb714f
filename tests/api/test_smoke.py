from tests.harness import Executor
from tests.helpers import WS, create_tag


async def test_create_and_read_back(gql: Executor) -> None:
    tag = await create_tag(gql, "Hello")
    result = await gql("query($id: ID!) { tag(id: $id) { name workspaceId } }", {"id": tag["id"]})
    assert result.ok()["tag"] == {"name": "Hello", "workspaceId": WS}
