"""The Flask views of a hub: ``POST {hub}/negotiate`` and the transport requests on ``{hub}``.

Every request passes the same gate before anything else happens: origin check (403), then
authentication and hub-level roles (401/403), so no hub code ever runs for a refused client.
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
from flask_signalr.server.connection import HubConnection
from flask_signalr.server.endpoint import HubEndpoint
from flask_signalr.server.registry import ClaimError, Reservation, new_secret
from flask_signalr.server.scope import RequestScope
from flask_signalr.transports.security import (
    add_cors_headers,
    origin_allowed,
    preflight_response,
)
from flask_signalr.transports.websocket import (
    ConsumedSocketResponse,
    WebSocketTransport,
    is_websocket_request,
)

#: Transports this server implements, in the order clients should try them.
IMPLEMENTED_TRANSPORTS = {"WebSockets": ["Text", "Binary"]}


def _text(status: int, body: str = "") -> Response:
    return Response(body, status=status, mimetype="text/plain")


class HubViews:
    """Request handling for one :class:`HubEndpoint`."""

    def __init__(self, endpoint: HubEndpoint) -> None:
        self.endpoint = endpoint
        self._requirements = requirements_of(endpoint.hub_class)
        self._transports = [
            {"transport": name, "transferFormats": IMPLEMENTED_TRANSPORTS[name]}
            for name in endpoint.options.transports
            if name in IMPLEMENTED_TRANSPORTS
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
            if refusal.status_code == 403 and _user is None:
                return refusal  # a refused origin gets no CORS grant
            return add_cors_headers(request, refusal)
        version = _requested_version(request.args)
        if isinstance(version, str):
            return add_cors_headers(request, _text(400, version))
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
        return add_cors_headers(request, response)

    # -- transport requests -------------------------------------------------------------------

    def connection(self) -> Response:
        """``{hub}`` for non-WebSocket requests (the HTTP transports)."""
        if request.method == "OPTIONS":
            return self._preflight("GET, POST, DELETE")
        if not origin_allowed(request, self.endpoint.options.allowed_origins):
            return _text(403, "Origin not allowed")
        return add_cors_headers(
            request, _text(404, "LongPolling transport not supported by this end point type")
        )

    def websocket(self) -> Response:
        """``{hub}`` with ``Upgrade: websocket``: run the connection until it ends."""
        if not is_websocket_request(request.environ):
            return _text(400, "Not a WebSocket request")
        if "WebSockets" not in self.endpoint.options.transports:
            return _text(404, "WebSockets transport not supported by this end point type")
        user, refusal = self._gate()
        if refusal is not None:
            return refusal
        token = request.args.get("id")
        claim: Reservation | ClaimError
        if token is None:
            # skipNegotiation: the client connects straight to the hub URL.
            claim = Reservation(new_secret(), new_secret())
            token = claim.token
        else:
            claim = self.endpoint.registry.claim(token)
        if claim is ClaimError.UNKNOWN:
            return _text(404, claim.value)
        if claim is ClaimError.ACTIVE:
            return _text(409, claim.value)
        assert isinstance(claim, Reservation)
        options = self.endpoint.options
        transport = WebSocketTransport(
            request.environ, options.maximum_outbound_buffer_size, options.client_timeout_interval
        )
        if not transport.accept():
            return _text(400, "Invalid WebSocket upgrade request")
        connection = HubConnection(
            claim.connection_id,
            transport,
            RequestScope(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                request.environ,
                session._get_current_object(),  # type: ignore[attr-defined]
                user,
            ),
            self.endpoint.user_id_provider(user),
            options.maximum_parallel_invocations_per_client,
        )
        self.endpoint.run_connection(token, connection, transport.run)
        return ConsumedSocketResponse()

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
