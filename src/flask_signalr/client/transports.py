"""Client transports: move whole records between the hub connection and the server.

A transport never parses hub messages. Once connected it calls ``on_receive`` with every chunk
of bytes the server sends (from its own reader worker) and ``on_close`` exactly once when it
ends, with ``None`` for a clean end or the reason it failed. If ``connect`` raises, neither is
ever called.

The WebSocket transport drives wsproto (the engine under simple-websocket, already a
dependency) over a plain socket rather than using ``simple_websocket.Client``, which writes
frames with ``socket.send`` (a partial write under gevent corrupts the stream), lets its reader
thread and caller threads use one wsproto connection without a lock, never answers the
server's close frame, has no timeout for the upgrade and reports a refused upgrade without the
server's explanation.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState as WsState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from flask_signalr.client.errors import HttpError, HubConnectionError
from flask_signalr.client.http import DEFAULT_HTTP_TIMEOUT, HttpClient, no_delay, with_query
from flask_signalr.client.runtime import Runtime
from flask_signalr.protocol.base import TransferFormat

logger = logging.getLogger("flask_signalr.client")

OnReceive = Callable[[bytes], None]
OnClose = Callable[[BaseException | None], None]

_RECEIVE_SIZE = 65536
_NORMAL_CLOSURE = 1000


class HttpTransportType(enum.IntFlag):
    """Transports the client may use, combinable as in the .NET and JavaScript clients."""

    NONE = 0
    WEB_SOCKETS = 1
    SERVER_SENT_EVENTS = 2
    LONG_POLLING = 4

    @property
    def wire_names(self) -> tuple[str, ...]:
        """The negotiate names of the transports in this set."""
        return tuple(name for flag, name in _WIRE_NAMES.items() if flag in self)


_WIRE_NAMES = {
    HttpTransportType.WEB_SOCKETS: "WebSockets",
    HttpTransportType.SERVER_SENT_EVENTS: "ServerSentEvents",
    HttpTransportType.LONG_POLLING: "LongPolling",
}


class ClientTransport(Protocol):
    """What the hub connection needs from a connected transport."""

    #: Transport name as negotiate spells it.
    name: str
    #: True when the transport itself proves liveness (long polling): no pings, no timeout.
    inherent_keep_alive: bool

    def send(self, data: bytes) -> None:
        """Write whole records; raises :class:`HubConnectionError` if the transport is gone."""

    def stop(self) -> None:
        """Begin a graceful end without waiting for it; ``on_close`` follows."""

    def abort(self) -> None:
        """End now; ``on_close`` follows promptly."""


# -- WebSockets ---------------------------------------------------------------------------------


class WebSocketTransport:
    """SignalR over one WebSocket: text frames for JSON, binary frames for MessagePack."""

    name = "WebSockets"
    inherent_keep_alive = False

    def __init__(
        self,
        runtime: Runtime,
        headers: Mapping[str, str],
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._runtime = runtime
        self._headers = dict(headers)
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._socket: socket.socket | None = None
        self._ws = WSConnection(ConnectionType.CLIENT)
        #: Guards the wsproto state machine; held only for in-memory work, never for I/O.
        self._state_lock = runtime.lock()
        #: Serializes socket writes so frames never interleave (held across sendall).
        self._write_lock = runtime.lock()
        self._binary = False
        self._closing = False

    def connect(
        self, url: str, transfer_format: TransferFormat, on_receive: OnReceive, on_close: OnClose
    ) -> None:
        """Open the socket, perform the upgrade and start the reader."""
        self._binary = transfer_format is TransferFormat.BINARY
        parts = urlsplit(url)
        secure = parts.scheme in ("wss", "https")
        host = parts.hostname or "localhost"
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            sock = socket.create_connection((host, port), timeout=self._timeout)
        except OSError as exc:
            raise HubConnectionError(f"WebSocket failed to connect to {url}: {exc}") from exc
        no_delay(sock)
        try:
            if secure:
                context = self._ssl_context or ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=host)
            request = Request(
                host=parts.netloc.rpartition("@")[2],
                target=target,
                extra_headers=[
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in self._headers.items()
                ],
            )
            sock.sendall(self._ws.send(request))
            leftovers = self._read_upgrade_response(sock, url)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self._runtime.spawn(
            lambda: self._read_loop(sock, leftovers, on_receive, on_close), "signalr-ws-reader"
        )

    def _read_upgrade_response(self, sock: socket.socket, url: str) -> list[Event]:
        """Read until the server accepts (return the events after that) or refuses (raise)."""
        reject: RejectConnection | None = None
        body = b""
        finished = False
        while not finished:
            try:
                data = sock.recv(_RECEIVE_SIZE)
            except OSError as exc:
                raise HubConnectionError(f"WebSocket failed to connect to {url}: {exc}") from exc
            if not data:
                if reject is None:
                    raise HubConnectionError(
                        f"WebSocket failed to connect to {url}: the server closed the "
                        "connection during the upgrade."
                    )
                break
            self._ws.receive_data(data)
            try:
                events = list(self._ws.events())
            except RemoteProtocolError as exc:
                raise HubConnectionError(f"WebSocket failed to connect to {url}: {exc}") from exc
            for index, event in enumerate(events):
                if isinstance(event, AcceptConnection):
                    return events[index + 1 :]
                if isinstance(event, RejectConnection):
                    reject = event
                    finished = not event.has_body
                elif isinstance(event, RejectData):
                    body += event.data
                    finished = event.body_finished
        assert reject is not None
        text = body.decode("utf-8", "replace").strip()
        raise HttpError(
            f"WebSocket failed to connect to {url}: the server answered "
            f"{reject.status_code}{': ' + text if text else ''}.",
            reject.status_code,
        )

    def send(self, data: bytes) -> None:
        message = BytesMessage(data) if self._binary else TextMessage(data.decode("utf-8"))
        self._write(message)

    def _write(self, event: Event) -> None:
        sock = self._socket
        if sock is None:
            raise HubConnectionError("The WebSocket is not connected.")
        with self._write_lock:
            try:
                with self._state_lock:
                    frame = self._ws.send(event)
                sock.sendall(frame)
            except LocalProtocolError as exc:
                raise HubConnectionError("The WebSocket is closing; cannot send.") from exc
            except OSError as exc:
                raise HubConnectionError(f"WebSocket send failed: {exc}") from exc

    def stop(self) -> None:
        """Send a close frame; the reader ends when the server answers it."""
        self._closing = True
        with self._state_lock:
            is_open = self._ws.state is WsState.OPEN
        if not is_open:
            return
        try:
            self._write(CloseConnection(code=_NORMAL_CLOSURE))
        except HubConnectionError:
            self.abort()

    def abort(self) -> None:
        self._closing = True
        sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _read_loop(
        self, sock: socket.socket, events: list[Event], on_receive: OnReceive, on_close: OnClose
    ) -> None:
        error: BaseException | None = None
        try:
            while True:
                for event in events:
                    closed = self._handle(event, on_receive)
                    if closed is not None:
                        error = closed.error
                        return
                try:
                    data = sock.recv(_RECEIVE_SIZE)
                except OSError as exc:
                    if not self._closing:
                        error = HubConnectionError(f"WebSocket error: {exc}")
                    return
                if not data:
                    if not self._closing:
                        error = HubConnectionError(
                            "The server closed the WebSocket without a close frame."
                        )
                    return
                with self._state_lock:
                    self._ws.receive_data(data)
                    events = list(self._ws.events())
        except RemoteProtocolError as exc:
            error = HubConnectionError(f"WebSocket protocol error: {exc}")
        except Exception as exc:
            logger.exception("Processing data from the server failed.")
            error = exc
        finally:
            self._closing = True
            sock.close()
            on_close(error)

    def _handle(self, event: Event, on_receive: OnReceive) -> _Closed | None:
        """Act on one event; a :class:`_Closed` when it was the server's close frame."""
        if isinstance(event, TextMessage):
            on_receive(event.data.encode("utf-8"))
        elif isinstance(event, BytesMessage):
            on_receive(bytes(event.data))
        elif isinstance(event, Ping):
            with contextlib.suppress(HubConnectionError):
                self._write(event.response())
        elif isinstance(event, CloseConnection):
            with self._state_lock:
                answer = self._ws.state is WsState.REMOTE_CLOSING
            if answer:
                with contextlib.suppress(HubConnectionError):
                    self._write(event.response())
            if event.code == _NORMAL_CLOSURE:
                return _Closed(None)
            reason = event.reason or "no reason given"
            return _Closed(
                HubConnectionError(f"WebSocket closed with status code: {event.code} ({reason}).")
            )
        return None


@dataclass(frozen=True)
class _Closed:
    """The server's close frame arrived; ``error`` is None for a normal closure (1000)."""

    error: BaseException | None


# -- Long polling -------------------------------------------------------------------------------


class LongPollingTransport:
    """Receive by repeated GETs held open by the server, send by POST, end with DELETE."""

    name = "LongPolling"
    inherent_keep_alive = True

    def __init__(
        self,
        runtime: Runtime,
        headers: Mapping[str, str],
        timeout: float = DEFAULT_HTTP_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._runtime = runtime
        self._headers = dict(headers)
        self._timeout = timeout
        self._poller = HttpClient(timeout, ssl_context)
        self._sender = HttpClient(timeout, ssl_context)
        self._ssl_context = ssl_context
        #: Keeps POSTs in order: records from one connection must arrive as they were sent.
        self._send_lock = runtime.lock()
        self._url = ""
        self._content_type = "text/plain;charset=UTF-8"
        self._stopping = False

    def connect(
        self, url: str, transfer_format: TransferFormat, on_receive: OnReceive, on_close: OnClose
    ) -> None:
        """Make the first poll (the server answers it at once), then keep polling."""
        self._url = url
        if transfer_format is TransferFormat.BINARY:
            self._content_type = "application/octet-stream"
        try:
            response = self._poller.request("GET", self._poll_url(), self._headers)
        except OSError as exc:
            self._poller.close()
            raise HubConnectionError(f"Long polling failed to connect to {url}: {exc}") from exc
        if response.status != 200:
            self._poller.close()
            raise HttpError(
                f"Long polling failed to connect to {url}: the server answered "
                f"{response.status}: {response.body.decode('utf-8', 'replace')}",
                response.status,
            )
        self._runtime.spawn(lambda: self._poll_loop(on_receive, on_close), "signalr-lp-poller")

    def _poll_url(self) -> str:
        return with_query(self._url, _=str(int(time.time() * 1000)))

    def _poll_loop(self, on_receive: OnReceive, on_close: OnClose) -> None:
        error: BaseException | None = None
        try:
            while not self._stopping:
                try:
                    response = self._poller.request("GET", self._poll_url(), self._headers)
                except OSError as exc:
                    if not self._stopping:
                        error = HubConnectionError(f"Long polling failed: {exc}")
                    return
                if response.status == 204:
                    return  # the server ended the connection
                if response.status != 200:
                    error = HttpError(
                        f"Long polling failed: the server answered {response.status}: "
                        f"{response.body.decode('utf-8', 'replace')}",
                        response.status,
                    )
                    return
                if response.body:
                    on_receive(response.body)
        except Exception as exc:
            logger.exception("Processing data from the server failed.")
            error = exc
        finally:
            self._stopping = True
            self._poller.close()
            on_close(error)

    def send(self, data: bytes) -> None:
        if self._stopping:
            raise HubConnectionError("The long-polling connection is closed; cannot send.")
        headers = {**self._headers, "Content-Type": self._content_type}
        with self._send_lock:
            try:
                response = self._sender.request("POST", self._url, headers, body=data)
            except OSError as exc:
                raise HubConnectionError(f"Long polling send failed: {exc}") from exc
        if response.status != 200:
            raise HttpError(
                f"Long polling send failed: the server answered {response.status}: "
                f"{response.body.decode('utf-8', 'replace')}",
                response.status,
            )

    def stop(self) -> None:
        """DELETE the connection: the server ends the pending poll with 204."""
        if self._stopping:
            return
        self._stopping = True
        deleter = HttpClient(self._timeout, self._ssl_context)
        try:
            deleter.request("DELETE", self._url, self._headers)
        except OSError as exc:
            logger.debug("DELETE of a long-polling connection failed: %s", exc)
            self._poller.abort()
        finally:
            deleter.close()
        self._sender.close()

    def abort(self) -> None:
        self._stopping = True
        self._poller.abort()
        self._sender.close()
