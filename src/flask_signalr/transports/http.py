"""The Flask views of a hub: ``POST {hub}/negotiate`` and the transport requests on ``{hub}``.

Every request passes the same gate before anything else happens: origin check (403), then
authentication and hub-level roles (401/403), so no hub code ever runs for a refused client.
For Server-Sent Events and long polling the gate runs again on every poll, POST and DELETE,
and a connection opened by a signed-in user takes those only from that user (403 otherwise).
Status codes and texts follow ASP.NET Core's connection dispatcher.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request, session

from flask_signalr.auth import (
    AuthorizationResult,
    check_requirements,
    load_request_user,
    requirements_of,
)
from flask_signalr.server.connection import HubConnection, Transport
from flask_signalr.server.endpoint import HubEndpoint
from flask_signalr.server.registry import ClaimError, Reservation, new_secret
from flask_signalr.server.scope import RequestScope
from flask_signalr.transports.base import HttpTransport, send_without_delay
from flask_signalr.transports.long_polling import LongPollingTransport
from flask_signalr.transports.security import (
    add_cors_headers,
    origin_allowed,
    preflight_response,
)
from flask_signalr.transports.sse import (
    EventStreamResponse,
    ServerSentEventsTransport,
    is_event_stream_request,
)
from flask_signalr.transports.websocket import (
    ConsumedSocketResponse,
    WebSocketTransport,
    is_websocket_request,
)

#: Transfer formats of each transport, as negotiate lists them (SSE carries text only).
TRANSFER_FORMATS = {
    "WebSockets": ["Text", "Binary"],
    "ServerSentEvents": ["Text"],
    "LongPolling": ["Text", "Binary"],
}
#: Headers that keep proxies and browsers from caching polls.
_NO_CACHE = {
    "Cache-Control": "no-cache, no-store",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}
_NO_CONNECTION = "No Connection with that ID"
_CANNOT_CHANGE = "Cannot change transports mid-connection"


def _text(status: int, body: str = "") -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _not_supported(transport: str) -> Response:
    return _text(404, f"{transport} transport not supported by this end point type")


def _poll_response(status: int, body: bytes = b"") -> Response:
    response = Response(body, status=status, content_type="application/octet-stream")
    response.headers.update(_NO_CACHE)
    return response


class HubViews:
    """Request handling for one :class:`HubEndpoint`."""

    def __init__(self, endpoint: HubEndpoint) -> None:
        self.endpoint = endpoint
        self._requirements = requirements_of(endpoint.hub_class)
        self._transports = [
            {"transport": name, "transferFormats": TRANSFER_FORMATS[name]}
            for name in endpoint.options.transports
        ]

    # -- gate ---------------------------------------------------------------------------------

    def _gate(self) -> tuple[Any, Response | None]:
        """Check origin and identity; return the user, or a refusal response."""
        if not origin_allowed(request, self.endpoint.options.allowed_origins):
            return None, _text(403, "Origin not allowed")
        user = load_request_user()
        verdict = check_requirements(user, self._requirements, self.endpoint.role_checker)
        if verdict is AuthorizationResult.ANONYMOUS:
            return user, _text(401)
        if verdict is AuthorizationResult.FORBIDDEN:
            return user, _text(403)
        return user, None

    # -- negotiate ----------------------------------------------------------------------------

    def negotiate(self) -> Response:
        if request.method == "OPTIONS":
            return self._preflight("POST")
        _user, refusal = self._gate()
        if refusal is not None:
            return self._cors(refusal)
        version = _requested_version(request.args)
        if isinstance(version, str):
            return self._cors(_text(400, version))
        reservation = self.endpoint.registry.reserve(version)
        body: dict[str, Any] = {
            "negotiateVersion": version,
            "connectionId": reservation.connection_id,
        }
        if version >= 1:
            body["connectionToken"] = reservation.token
        body["availableTransports"] = self._transports
        body["useStatefulReconnect"] = False
        response = Response(json.dumps(body), mimetype="application/json")
        response.headers["Cache-Control"] = "no-cache, no-store"
        return self._cors(response)

    # -- transport requests -------------------------------------------------------------------

    def connection(self) -> Response:
        """``{hub}`` for everything but WebSocket upgrades: SSE streams, polls, sends, DELETE."""
        if request.method == "OPTIONS":
            return self._preflight("GET, POST, DELETE")
        send_without_delay(request.environ)
        user, refusal = self._gate()
        token = request.args.get("id")
        if refusal is not None:
            response = refusal
        elif request.method not in ("GET", "POST", "DELETE"):
            response = _text(405)  # HEAD, which Flask adds to every GET route
        elif not token:
            response = _text(400, "Connection ID required")
        elif request.method == "POST":
            response = self._send(token, user)
        elif request.method == "DELETE":
            response = self._delete(token, user)
        elif is_event_stream_request(request):
            response = self._event_stream(token, user)
        else:
            response = self._poll(token, user)
        return self._cors(response)

    def websocket(self) -> Response:
        """``{hub}`` with ``Upgrade: websocket``: run the connection until it ends."""
        if not is_websocket_request(request.environ):
            return _text(400, "Not a WebSocket request")
        send_without_delay(request.environ)
        if WebSocketTransport.name not in self.endpoint.options.transports:
            return _not_supported(WebSocketTransport.name)
        user, refusal = self._gate()
        if refusal is not None:
            return refusal
        token = request.args.get("id")
        if token is None:
            # skipNegotiation: the client connects straight to the hub URL.
            claim = Reservation(new_secret(), new_secret())
        else:
            claimed = self.endpoint.registry.claim(token)
            if isinstance(claimed, ClaimError):
                return self._refuse(token, WebSocketTransport.name)
            claim = claimed
        options = self.endpoint.options
        transport = WebSocketTransport(
            request.environ, options.maximum_outbound_buffer_size, options.client_timeout_interval
        )
        if not transport.accept():
            return _text(400, "Invalid WebSocket upgrade request")
        connection = self._open(claim, transport, user)
        self.endpoint.run_connection(claim.token, connection, transport.run)
        return ConsumedSocketResponse()

    def _event_stream(self, token: str, user: Any) -> Response:
        """``GET {hub}?id=T`` with ``Accept: text/event-stream``: the SSE receive channel."""
        name = ServerSentEventsTransport.name
        if name not in self.endpoint.options.transports:
            return _not_supported(name)
        claim = self.endpoint.registry.claim(token)
        if not isinstance(claim, Reservation):
            return self._refuse(token, name)
        options = self.endpoint.options
        transport = ServerSentEventsTransport(
            request.environ, options.maximum_outbound_buffer_size, options.client_timeout_interval
        )
        connection = self._open(claim, transport, user)
        return EventStreamResponse(
            lambda write: self.endpoint.run_connection(
                token, connection, lambda on_data: transport.stream(write, on_data)
            )
        )

    def _poll(self, token: str, user: Any) -> Response:
        """``GET {hub}?id=T``: a long poll; the first one opens the connection."""
        if LongPollingTransport.name not in self.endpoint.options.transports:
            return _not_supported(LongPollingTransport.name)
        claim = self.endpoint.registry.claim(token)
        if isinstance(claim, Reservation):
            return self._first_poll(claim, user)
        found = self._find(token, user)
        if isinstance(found, Response):
            return found
        transport = found.transport
        if not isinstance(transport, LongPollingTransport):
            return _text(400, _CANNOT_CHANGE)
        if transport.polling:
            return _text(409, "A poll is already waiting on this connection.")
        data = transport.poll(self.endpoint.options.long_polling_timeout)
        return _poll_response(204) if data is None else _poll_response(200, data)

    def _first_poll(self, claim: Reservation, user: Any) -> Response:
        """Open a long-polling connection and answer at once, as the client's start() waits."""
        options = self.endpoint.options
        transport = LongPollingTransport(
            options.maximum_outbound_buffer_size, options.disconnect_timeout
        )
        connection = self._open(claim, transport, user, supports_pings=False)
        # Registered before this answer tells the client to POST its handshake.
        self.endpoint.start_connection(claim.token, connection, transport.run)
        return _poll_response(200)

    def _send(self, token: str, user: Any) -> Response:
        """``POST {hub}?id=T``: client-to-server records of an SSE or long-polling connection."""
        found = self._find(token, user)
        if isinstance(found, Response):
            return found
        transport = found.transport
        if not isinstance(transport, HttpTransport):
            return _text(405, "POST requests are not allowed for WebSocket connections.")
        transport.receive(request.stream)
        return _text(200)

    def _delete(self, token: str, user: Any) -> Response:
        """``DELETE {hub}?id=T``: the long-polling client ends its connection."""
        found = self._find(token, user)
        if isinstance(found, Response):
            return found
        transport = found.transport
        if not isinstance(transport, LongPollingTransport):
            return _text(400, "Cannot terminate this connection using the DELETE endpoint.")
        transport.terminate()
        return _text(202)

    # -- helpers ------------------------------------------------------------------------------

    def _find(self, token: str, user: Any) -> HubConnection | Response:
        """The live connection ``token`` names, unless it belongs to another user.

        The token travels in URLs (and so in logs); a connection opened by a signed-in user
        therefore also requires that user, so a leaked token cannot be driven by anyone else.
        An anonymous connection accepts any requester, as a WebSocket would keep it open when
        its page signs in.
        """
        connection = self.endpoint.registry.connection(token)
        if connection is None:
            return _text(404, _NO_CONNECTION)
        owner = connection.user_identifier
        if owner is not None and self.endpoint.user_id_provider(user) != owner:
            return _text(403, "The connection belongs to another user.")
        return connection

    def _refuse(self, token: str, transport: str) -> Response:
        """Why a transport cannot open ``token``: unknown, already open, or on another transport."""
        existing = self.endpoint.registry.connection(token)
        if existing is None:
            return _text(404, _NO_CONNECTION)
        if existing.transport.name == transport:
            return _text(409, "Connection is already active")
        return _text(400, _CANNOT_CHANGE)

    def _open(
        self, claim: Reservation, transport: Transport, user: Any, supports_pings: bool = True
    ) -> HubConnection:
        """The connection a transport request opens, seeing that request's app, session, user."""
        return HubConnection(
            claim.connection_id,
            transport,
            RequestScope(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                request.environ,
                session._get_current_object(),  # type: ignore[attr-defined]
                user,
            ),
            self.endpoint.user_id_provider(user),
            self.endpoint.options.maximum_parallel_invocations_per_client,
            supports_pings,
        )

    def _cors(self, response: Response) -> Response:
        """Let an allowed cross-origin page read ``response``; a refused origin reads nothing."""
        if origin_allowed(request, self.endpoint.options.allowed_origins):
            add_cors_headers(request, response)
        return response

    def _preflight(self, methods: str) -> Response:
        if not origin_allowed(request, self.endpoint.options.allowed_origins):
            return _text(403, "Origin not allowed")
        return preflight_response(request, methods)


def _requested_version(args: Any) -> int | str:
    """``negotiateVersion`` (any case, default 0) capped at 1, or the error text to answer."""
    raw = next((value for key, value in args.items() if key.lower() == "negotiateversion"), None)
    if raw is None:
        return 0
    try:
        version = int(raw)
    except ValueError:
        return "The client requested a non-integer protocol version."
    if version < 0:
        return (
            f"The client requested version '{version}', "
            "but the server does not support this version."
        )
    return min(version, 1)
