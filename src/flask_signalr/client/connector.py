"""How a hub connection gets a connected transport: negotiate, then try transports in order.

The hub connection asks its connector for a fresh transport on every start and every reconnect
attempt, so each attempt negotiates again (new connection id and token, fresh access token),
as the protocol requires. The in-process test client plugs in a connector of its own.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from flask_signalr.client.errors import HubConnectionError
from flask_signalr.client.http import (
    DEFAULT_HTTP_TIMEOUT,
    USER_AGENT,
    HttpClient,
    Negotiation,
    negotiate,
    websocket_url,
    with_query,
)
from flask_signalr.client.runtime import Runtime
from flask_signalr.client.transports import (
    ClientTransport,
    HttpTransportType,
    LongPollingTransport,
    OnClose,
    OnReceive,
    WebSocketTransport,
)
from flask_signalr.protocol.base import TransferFormat


@dataclass(frozen=True)
class Connected:
    """A transport that is up, and the id the server gave the connection (None if unknown)."""

    transport: ClientTransport
    connection_id: str | None


class Connector(Protocol):
    """Produces connected transports for a hub connection."""

    def connect(
        self, transfer_format: TransferFormat, on_receive: OnReceive, on_close: OnClose
    ) -> Connected:
        """Connect a new transport; raise if none could be connected."""
        ...


class HttpConnector:
    """Negotiate with a hub URL and connect the first transport that works."""

    def __init__(
        self,
        url: str,
        runtime: Runtime,
        access_token_factory: Callable[[], str | None] | None = None,
        headers: Mapping[str, str] | None = None,
        transports: HttpTransportType = HttpTransportType.WEB_SOCKETS
        | HttpTransportType.LONG_POLLING,
        skip_negotiation: bool = False,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if skip_negotiation and transports is not HttpTransportType.WEB_SOCKETS:
            raise ValueError(
                "Negotiation can only be skipped when using the WebSocket transport directly: "
                'pass transport="WebSockets" with skip_negotiation=True.'
            )
        self.url = url
        self._runtime = runtime
        self._access_token_factory = access_token_factory
        self._headers = {
            "X-Requested-With": "XMLHttpRequest",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        }
        self._transports = transports
        self._skip_negotiation = skip_negotiation
        self._http_timeout = http_timeout
        self._ssl_context = ssl_context

    def connect(
        self, transfer_format: TransferFormat, on_receive: OnReceive, on_close: OnClose
    ) -> Connected:
        token = self._access_token_factory() if self._access_token_factory else None
        if self._skip_negotiation:
            transport = self._websocket(token)
            transport.connect(websocket_url(self.url), transfer_format, on_receive, on_close)
            return Connected(transport, None)
        http = HttpClient(self._http_timeout, self._ssl_context)
        try:
            negotiation = negotiate(http, self.url, self._headers, token)
            candidates = self._candidates(negotiation, transfer_format)
            failures: list[str] = []
            for index, name in enumerate(candidates):
                if index:
                    # A failed attempt may have used up the token: negotiate a fresh one.
                    negotiation = negotiate(http, self.url, self._headers, token)
                try:
                    return self._connect_one(
                        name, negotiation, transfer_format, on_receive, on_close
                    )
                except HubConnectionError as exc:
                    failures.append(f"{name} failed: {exc}")
        finally:
            http.close()
        raise HubConnectionError(
            "Unable to connect to the server with any of the available transports. "
            + " ".join(failures)
        )

    def _candidates(self, negotiation: Negotiation, transfer_format: TransferFormat) -> list[str]:
        wanted = self._transports.wire_names
        names = [
            available.name
            for available in negotiation.transports
            if available.name in wanted
            and available.name in _IMPLEMENTED
            and transfer_format.value in available.transfer_formats
        ]
        if not names:
            offered = [available.name for available in negotiation.transports]
            raise HubConnectionError(
                "None of the transports supported by the client are supported by the server "
                f"(server offers {offered}, client accepts {list(wanted)} with "
                f"{transfer_format.value} transfer format)."
            )
        return names

    def _connect_one(
        self,
        name: str,
        negotiation: Negotiation,
        transfer_format: TransferFormat,
        on_receive: OnReceive,
        on_close: OnClose,
    ) -> Connected:
        url = with_query(negotiation.url, id=negotiation.connection_token)
        transport: WebSocketTransport | LongPollingTransport
        if name == "WebSockets":
            transport = self._websocket(negotiation.access_token)
            transport.connect(websocket_url(url), transfer_format, on_receive, on_close)
        else:
            transport = LongPollingTransport(
                self._runtime,
                self._auth_headers(negotiation.access_token),
                self._http_timeout,
                self._ssl_context,
            )
            transport.connect(url, transfer_format, on_receive, on_close)
        return Connected(transport, negotiation.connection_id)

    def _websocket(self, token: str | None) -> WebSocketTransport:
        return WebSocketTransport(
            self._runtime, self._auth_headers(token), self._http_timeout, self._ssl_context
        )

    def _auth_headers(self, token: str | None) -> dict[str, str]:
        headers = dict(self._headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers


_IMPLEMENTED = ("WebSockets", "LongPolling")
