"""GraphQL over WebSocket: subscriptions on /graphql with graphql-transport-ws."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from json import JSONDecodeError
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UNSET, UnsetType

from config.limits import MAX_REQUEST_BODY_BYTES
from edge.authentication import Authenticator, Credentials, Unauthenticated
from edge.middleware.languages import language_of
from edge.rate_limiting import RateLimit
from i18n import N_, translate
from resolvers.authorization import Principal
from resolvers.context import Context, make_context
from schema import TagsSchema

# Until connection_init authenticates it, a socket's principal may do nothing.
NOBODY = Principal(id="", scopes=(), workspace_ids=())
CREDENTIALS_NOT_TEXT = N_("Credentials must be strings.")
UNAUTHENTICATED = N_("Unauthenticated.")
# A message may be as large as a request body (1 MiB); a larger one closes the
# socket with 1009 (RFC 6455's "message too big"), the code uvicorn's own
# frame limit (`ws_max_size`, set to the same value by server.py) sends.
MAX_MESSAGE = MAX_REQUEST_BODY_BYTES
MESSAGE_TOO_BIG = 1009
# The code graphql-transport-ws uses for refused credentials, also sent when
# they expire or are revoked while the socket is open.
FORBIDDEN = 4403


class _LimitedAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, refusing messages over MAX_MESSAGE before decoding them."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        while self.ws.application_state != WebSocketState.DISCONNECTED:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                raise NonTextMessageReceived
            # Cheap first: a str never has more characters than UTF-8 bytes.
            if len(text) > MAX_MESSAGE // 4 and len(text.encode()) > MAX_MESSAGE:
                await self.close(MESSAGE_TOO_BIG, "Message larger than 1 MiB.")
                return
            try:
                yield self.view.decode_json(text)
            except JSONDecodeError as exc:
                if not ignore_parsing_errors:
                    raise NonJsonMessageReceived from exc


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with credentials that end and subscribe messages that count."""

    _credentials_watch: asyncio.Task[None] | None = None

    @property
    def _gate(self) -> GraphQLWebSocket:
        assert isinstance(self.view, GraphQLWebSocket)
        return self.view

    def _credentials(self) -> Credentials:
        credentials = getattr(self.context.request.state, "credentials", None)
        assert isinstance(credentials, Credentials)
        return credentials

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._credentials_watch is None:
            credentials = self._credentials()
            if credentials.can_end:
                self._credentials_watch = asyncio.create_task(self._close_when_ended(credentials))

    async def _close_when_ended(self, credentials: Credentials) -> None:
        reason = await self._gate.authenticator.ended(credentials, self.context.store)
        # Operations stop first, so none writes after the close frame.
        tasks = [op.task for op in self.operations.values() if op.task]
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        for task in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        await self.websocket.close(code=FORBIDDEN, reason=reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged:
            retry_after = await self._gate.rate_limit.retry_after(
                self._credentials(), self.context.store
            )
            if retry_after is not None:
                refusal: ErrorMessage = {
                    "id": message["id"],
                    "type": "error",
                    # graphql-core's formatted-error type has no room for extensions' values.
                    "payload": [self._gate.rate_limit.error(retry_after, self.context.language)],  # type: ignore[list-item]
                }
                await self.send_message(refusal)
                return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        watch = self._credentials_watch
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await watch
        await super().shutdown()


class GraphQLWebSocket(GraphQL[Context, None]):
    """Subscriptions over graphql-transport-ws only; the legacy graphql-ws is refused.

    Credentials come from the upgrade request's headers or from the
    connection_init payload (`Authorization` / `X-API-Key`); refused ones close
    the socket with 4403, and so do credentials that end while it is open (a
    JWT at `exp` plus the leeway; a revoked API key within
    TAGS_CREDENTIAL_RECHECK_S). Each `subscribe` message counts against the
    rate limit; one over it gets an `error` message with RATE_LIMITED.
    """

    websocket_adapter_class = _LimitedAdapter
    graphql_transport_ws_handler_class = _TransportWSHandler

    def __init__(
        self,
        schema: TagsSchema,
        authenticator: Authenticator,
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.authenticator = authenticator
        self.rate_limit = rate_limit or RateLimit(per_minute=0)

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
            credentials = await self.authenticator.identify(headers, context.store)
        except Unauthenticated:
            raise ConnectionRejectionError(
                {"message": translate(UNAUTHENTICATED, context.language)}
            ) from None
        context.request.state.credentials = credentials
        context.principal = credentials.principal
        context.refresh_loaders()
        return UNSET
