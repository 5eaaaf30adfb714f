"""GraphQL over WebSocket: subscriptions on /graphql with graphql-transport-ws."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from edge.authentication import Authenticator, Unauthenticated
from edge.middleware.languages import language_of
from i18n import N_, translate
from resolvers.authorization import Principal
from resolvers.context import Context, make_context
from schema import TagsSchema

# Until connection_init authenticates it, a socket's principal may do nothing.
NOBODY = Principal(id="", scopes=(), workspace_ids=())
CREDENTIALS_NOT_TEXT = N_("Credentials must be strings.")
UNAUTHENTICATED = N_("Unauthenticated.")


class GraphQLWebSocket(GraphQL[Context, None]):
    """Subscriptions over graphql-transport-ws only; the legacy graphql-ws is refused.

    Credentials come from the upgrade request's headers or from the
    connection_init payload (`Authorization` / `X-API-Key`); refused ones close
    the socket with 4403.
    """

    def __init__(self, schema: TagsSchema, authenticator: Authenticator) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.authenticator = authenticator

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        request_id = getattr(request.state, "request_id", "")
        # A socket speaks the language of its upgrade request, for all its operations.
        language = language_of(request.scope)
        return make_context(
            request, NOBODY, state.store, request_id, bus=state.bus, language=language
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        headers = {k.lower(): v for k, v in context.request.headers.items()}
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        for key, value in params.items():
            if isinstance(key, str) and key.lower() in ("authorization", "x-api-key"):
                if not isinstance(value, str):
                    raise ConnectionRejectionError(
                        {"message": translate(CREDENTIALS_NOT_TEXT, context.language)}
                    )
                headers[key.lower()] = value
        try:
            context.principal = await self.authenticator.authenticate(headers, context.store)
        except Unauthenticated:
            raise ConnectionRejectionError(
                {"message": translate(UNAUTHENTICATED, context.language)}
            ) from None
        context.refresh_loaders()
        return UNSET
