"""Test your hubs with pytest, in-process and without sockets: ``signalr.test_client(path)``.

A :class:`HubTestClient` is the real Python client (:class:`~flask_signalr.client.HubConnection`)
wired to the real server machinery through memory instead of a network: its records are
encoded by the same codec, fed to the hub endpoint's own connection handler by a reader
greenlet (as a socket reader would), dispatched by the same dispatcher (binding, authorization,
filters, error texts) and run in a Flask request context built like that of a real connect
request. Only negotiate and the transport are skipped; the hub-level
``@authorize`` check those would make is done here instead (a refused user gets the 401/403
a real client would).

The client uses gevent primitives, so tests do not need ``monkey.patch_all()``: while a test
waits for an answer, the server's greenlets run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, request, session

from flask_signalr import _concurrency
from flask_signalr.auth import (
    AuthorizationResult,
    check_requirements,
    load_request_user,
    requirements_of,
)
from flask_signalr.client.connection import HubConnection
from flask_signalr.client.connector import Connected
from flask_signalr.client.errors import HttpError, HubConnectionError
from flask_signalr.client.runtime import Runtime
from flask_signalr.client.transports import OnClose, OnReceive
from flask_signalr.protocol import protocols_by_name
from flask_signalr.protocol.base import TransferFormat
from flask_signalr.protocol.messages import InvocationMessage
from flask_signalr.server.connection import HubConnection as ServerConnection
from flask_signalr.server.endpoint import HubEndpoint
from flask_signalr.server.registry import new_secret
from flask_signalr.server.scope import RequestScope

#: The client's primitives as greenlets: the server's hub code runs while a test waits.
_GEVENT_RUNTIME = Runtime(
    event=_concurrency.Event,
    lock=_concurrency.Lock,
    queue=_concurrency.Queue,
    spawn=lambda function, name: _concurrency.spawn(function),
    current=_concurrency.getcurrent,
)

_CLOSED = object()


class _Pipe:
    """The memory between the two ends: one queue per direction.

    Records from the client wait in ``inbound`` until the server's reader greenlet (the
    :meth:`_ServerEnd.run` loop, driven by :meth:`HubEndpoint.run_connection`) feeds them to
    the connection handler one at a time, as a socket reader would. Chunks from the server
    wait in ``outbound`` for the client's reader greenlet.
    """

    def __init__(self) -> None:
        self.inbound: Any = _concurrency.Queue()
        self.outbound: Any = _concurrency.Queue()
        self.closed = False

    def close(self) -> None:
        """End both directions (idempotent); both reader loops finish."""
        if not self.closed:
            self.closed = True
            self.inbound.put(_CLOSED)
            self.outbound.put(_CLOSED)


class _ServerEnd:
    """The server's :class:`~flask_signalr.server.connection.Transport` over a pipe."""

    name = "InProcess"
    supports_binary = True

    def __init__(self, pipe: _Pipe) -> None:
        self._pipe = pipe

    def output_kind(self, transfer_format: TransferFormat) -> str:
        return "in-process"

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        return record

    def send(self, chunk: bytes) -> bool:
        if not self._pipe.closed:  # late messages of an ending connection are dropped
            self._pipe.outbound.put(chunk)
        return True

    def close(self) -> None:
        self._pipe.close()

    def abort(self) -> None:
        self._pipe.close()

    def run(self, on_data: Callable[[bytes], None]) -> BaseException | None:
        """The server's read loop: hand every client record to the connection handler."""
        while True:
            data = self._pipe.inbound.get()
            if data is _CLOSED:
                return None
            on_data(data)


class _ClientEnd:
    """The client's :class:`~flask_signalr.client.transports.ClientTransport` over a pipe."""

    name = "InProcess"
    #: No pings, no server timeout: nothing can go silent in memory.
    inherent_keep_alive = True

    def __init__(self, pipe: _Pipe) -> None:
        self._pipe = pipe
        self._stopped = False

    def send(self, data: bytes) -> None:
        if self._stopped or self._pipe.closed:
            raise HubConnectionError("The in-process connection is closed; cannot send.")
        self._pipe.inbound.put(data)

    def stop(self) -> None:
        """Send nothing more: the server closes once it has read the client's Close message."""
        self._stopped = True

    def abort(self) -> None:
        self._stopped = True
        self._pipe.close()

    def run(self, server_loop: Any, on_receive: OnReceive, on_close: OnClose) -> None:
        """The client's read loop; reports the close once the server finished cleaning up."""
        while True:
            chunk = self._pipe.outbound.get()
            if chunk is _CLOSED:
                break
            on_receive(chunk)
        server_loop.join()  # on_disconnected has run when the client sees the close
        on_close(None)


class _InProcessConnector:
    """Connects a client to a hub endpoint of an app, as a real connect request would."""

    def __init__(
        self,
        app: Flask,
        endpoint: HubEndpoint,
        user: Any,
        headers: Mapping[str, str] | None,
    ) -> None:
        self._app = app
        self._endpoint = endpoint
        self._user = user
        self._headers = dict(headers or {})

    def connect(
        self, transfer_format: TransferFormat, on_receive: OnReceive, on_close: OnClose
    ) -> Connected:
        endpoint = self._endpoint
        with self._app.test_request_context(endpoint.path, headers=self._headers):
            user = self._user if self._user is not None else load_request_user()
            environ = request.environ
            connect_session = session._get_current_object()  # type: ignore[attr-defined]
        verdict = check_requirements(
            user, requirements_of(endpoint.hub_class), endpoint.role_checker
        )
        if verdict is AuthorizationResult.ANONYMOUS:
            raise HttpError(f"{endpoint.path} requires an authenticated user: 401.", 401)
        if verdict is AuthorizationResult.FORBIDDEN:
            raise HttpError(f"{endpoint.path} refuses this user's roles: 403.", 403)
        pipe = _Pipe()
        server_end = _ServerEnd(pipe)
        connection = ServerConnection(
            new_secret(),
            server_end,
            RequestScope(self._app, environ, connect_session, user),
            endpoint.user_id_provider(user),
            endpoint.options.maximum_parallel_invocations_per_client,
            supports_pings=False,
        )
        server_loop = _concurrency.spawn(
            endpoint.run_connection, new_secret(), connection, server_end.run
        )
        client_end = _ClientEnd(pipe)
        _concurrency.spawn(client_end.run, server_loop, on_receive, on_close)
        return Connected(client_end, connection.connection_id)


class HubTestClient(HubConnection):
    """A connected client of one hub of ``app``, for tests; see the module docstring.

    ``user`` is the flask-login user the hub sees (``context.user``, ``current_user``);
    without it the app's ``request_loader`` runs on ``headers`` (e.g. an ``Authorization``
    header), else the user is anonymous. Every :class:`HubConnection` method works; in
    addition :attr:`received` lists what the server sent, and :meth:`invoke` returns only
    after the handlers of everything received before the result have run, so a test can
    assert on them straight away. ``send`` stays fire-and-forget, as over the wire.
    """

    def __init__(
        self,
        app: Flask,
        path: str,
        user: Any = None,
        *,
        protocol: str = "json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        state = app.extensions.get("signalr")
        if state is None:
            raise RuntimeError("SignalR is not initialised on this app: call SignalR(app) first.")
        endpoint: HubEndpoint | None = state.endpoints.get(path)
        if endpoint is None:
            raise LookupError(
                f"No hub is mapped at {path!r}; mapped paths: {sorted(state.endpoints)}."
            )
        super().__init__(
            _InProcessConnector(app, endpoint, user, headers),
            protocols_by_name((protocol,))[protocol],
            runtime=_GEVENT_RUNTIME,
        )
        #: ``(target, arguments)`` of every invocation the server sent, in arrival order.
        self.received: list[tuple[str, list[Any]]] = []
        self.start()

    def _invocation_received(self, message: InvocationMessage) -> None:
        self.received.append((message.target, list(message.arguments)))

    def invoke(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        try:
            return super().invoke(method, *args, timeout=timeout)
        finally:
            self._flush_callbacks()

    def close(self) -> None:
        """Disconnect; the hub's ``on_disconnected`` has run when this returns."""
        self.stop()

    def __enter__(self) -> HubTestClient:
        return self  # already started
