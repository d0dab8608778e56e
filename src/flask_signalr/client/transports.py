"""Client transports: move whole records between the hub connection and the server.

A transport never parses hub messages. Once connected it calls ``on_receive`` with every chunk
of bytes the server sends (from its own reader worker) and ``on_close`` exactly once when it
ends, with ``None`` for a clean end or the reason it failed. If ``connect`` raises, neither is
ever called.

The WebSocket transport drives the sans-IO protocol of the ``websockets`` library (the one the
server's transport uses; its frame parser has C speedups) over a plain socket, with the locking
and I/O done here. No ready-made client fits: ``websockets.sync.client`` hard-wires
:mod:`threading` (a reader thread, locks and events per connection) and selectors instead of the
:class:`~flask_signalr.client.runtime.Runtime` the client is given, and
``simple_websocket.Client`` writes frames with ``socket.send`` (a partial write under gevent
corrupts the stream), lets its reader thread and caller threads use one protocol state machine
without a lock, never answers the server's close frame, has no timeout for the upgrade and
reports a refused upgrade without the server's explanation.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHeaderValue, InvalidState, InvalidStatus, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import Event, State
from websockets.uri import parse_uri

from flask_signalr.client.errors import HttpError, HubConnectionError
from flask_signalr.client.http import (
    DEFAULT_HTTP_TIMEOUT,
    HttpClient,
    no_delay,
    websocket_url,
    with_query,
)
from flask_signalr.client.runtime import Runtime
from flask_signalr.protocol.base import TransferFormat

logger = logging.getLogger("flask_signalr.client")

OnReceive = Callable[[bytes], None]
OnClose = Callable[[BaseException | None], None]

_RECEIVE_SIZE = 65536
_NORMAL_CLOSURE = 1000
_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
#: The ``websockets`` protocol's own log lines (frames at DEBUG, an internal parser failure).
_websockets_logger = logging.getLogger("flask_signalr.client.websockets")


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
        self._protocol: ClientProtocol | None = None
        #: Guards the protocol's state machine and its outgoing buffer; held only for in-memory
        #: work, never for I/O.
        self._state_lock = runtime.lock()
        #: Serializes socket writes so frames never interleave (held across sendall). Taken
        #: before ``_state_lock`` by writers, so bytes leave in the order the protocol made them.
        self._write_lock = runtime.lock()
        self._binary = False
        self._closing = False

    def connect(
        self, url: str, transfer_format: TransferFormat, on_receive: OnReceive, on_close: OnClose
    ) -> None:
        """Open the socket, perform the upgrade and start the reader."""
        self._binary = transfer_format is TransferFormat.BINARY
        parts = urlsplit(websocket_url(url))
        # Credentials in the URL are not sent as Basic auth: authorization is the token's.
        bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], fragment=""))
        try:
            uri = parse_uri(bare)
        except InvalidURI as exc:
            raise HubConnectionError(f"WebSocket failed to connect to {url}: {exc}") from exc
        # No size limit on what the server sends (one frame may carry many records).
        protocol = ClientProtocol(uri, max_size=None, logger=_websockets_logger)
        try:
            request = protocol.connect()
            for name, value in self._headers.items():
                if name in request.headers:
                    del request.headers[name]
                request.headers[name] = value
        except InvalidHeaderValue as exc:
            raise HubConnectionError(f"WebSocket failed to connect to {url}: {exc}") from exc
        protocol.send_request(request)
        try:
            sock = socket.create_connection((uri.host, uri.port), timeout=self._timeout)
        except OSError as exc:
            raise HubConnectionError(f"WebSocket failed to connect to {url}: {exc}") from exc
        no_delay(sock)
        try:
            if uri.secure:
                context = self._ssl_context or ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=uri.host)
            sock.sendall(b"".join(protocol.data_to_send()))
            leftovers = self._read_upgrade_response(sock, protocol, url)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        self._protocol = protocol
        self._socket = sock
        self._runtime.spawn(
            lambda: self._read_loop(sock, protocol, leftovers, on_receive, on_close),
            "signalr-ws-reader",
        )

    @staticmethod
    def _read_upgrade_response(
        sock: socket.socket, protocol: ClientProtocol, url: str
    ) -> list[Event]:
        """Read until the server accepts (return the events after that) or refuses (raise)."""
        failure = f"WebSocket failed to connect to {url}"
        while True:
            try:
                data = sock.recv(_RECEIVE_SIZE)
            except OSError as exc:
                raise HubConnectionError(f"{failure}: {exc}") from exc
            if data:
                protocol.receive_data(data)
            else:
                # A refusal without a length ends with the stream; anything else is cut short.
                protocol.receive_eof()
            events = protocol.events_received()
            failed = protocol.handshake_exc
            if isinstance(failed, InvalidStatus):
                status = failed.response.status_code
                text = bytes(failed.response.body or b"").decode("utf-8", "replace").strip()
                raise HttpError(
                    f"{failure}: the server answered {status}{': ' + text if text else ''}.",
                    status,
                )
            if failed is not None:
                cause = failed.__cause__
                if isinstance(cause, EOFError):
                    raise HubConnectionError(
                        f"{failure}: the server closed the connection during the upgrade."
                    ) from failed
                detail = f"{failed} ({cause})" if cause is not None else str(failed)
                raise HubConnectionError(f"{failure}: {detail}.") from failed
            for index, event in enumerate(events):
                if isinstance(event, Response):
                    return events[index + 1 :]
            if not data:
                raise HubConnectionError(
                    f"{failure}: the server closed the connection during the upgrade."
                )

    def send(self, data: bytes) -> None:
        sock, protocol = self._socket, self._protocol
        if sock is None or protocol is None:
            raise HubConnectionError("The WebSocket is not connected.")
        with self._write_lock:
            try:
                with self._state_lock:
                    if self._binary:
                        protocol.send_binary(data)
                    else:
                        protocol.send_text(data)
                    # Also anything the reader left (a pong): it is written here, in order.
                    outgoing = protocol.data_to_send()
                sock.sendall(outgoing[0] if len(outgoing) == 1 else b"".join(outgoing))
            except InvalidState as exc:
                raise HubConnectionError("The WebSocket is closing; cannot send.") from exc
            except OSError as exc:
                raise HubConnectionError(f"WebSocket send failed: {exc}") from exc

    def _write_queued(self, sock: socket.socket, outgoing: bytes) -> None:
        """Write what the protocol queued by itself: pongs, the answer to a close frame."""
        with self._write_lock, contextlib.suppress(OSError):  # the reader sees the socket fail
            sock.sendall(outgoing)

    def stop(self) -> None:
        """Send a close frame; the reader ends when the server answers it."""
        self._closing = True
        sock, protocol = self._socket, self._protocol
        if sock is None or protocol is None:
            return
        with self._write_lock:
            with self._state_lock:
                if protocol.state is not State.OPEN:
                    return
                protocol.send_close(_NORMAL_CLOSURE)
                outgoing = b"".join(protocol.data_to_send())
            try:
                sock.sendall(outgoing)
            except OSError:
                self.abort()

    def abort(self) -> None:
        self._closing = True
        sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _read_loop(
        self,
        sock: socket.socket,
        protocol: ClientProtocol,
        events: list[Event],
        on_receive: OnReceive,
        on_close: OnClose,
    ) -> None:
        error: BaseException | None = None
        try:
            with self._state_lock:
                outgoing = b"".join(protocol.data_to_send())
            while True:
                for event in events:
                    if isinstance(event, Frame) and event.opcode in _DATA_OPCODES:
                        on_receive(bytes(event.data))
                # Pongs, the answer to the server's close frame, the close frame a protocol error
                # calls for. Taken from the protocol under the state lock alone: a sender that
                # took earlier bytes holds the write lock until they are written, so order holds.
                if outgoing:
                    self._write_queued(sock, outgoing)
                if protocol.parser_exc is not None:
                    error = HubConnectionError(f"WebSocket protocol error: {protocol.parser_exc}")
                    return
                close = protocol.close_rcvd
                if close is not None:
                    if close.code != _NORMAL_CLOSURE:
                        reason = close.reason or "no reason given"
                        error = HubConnectionError(
                            f"WebSocket closed with status code: {close.code} ({reason})."
                        )
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
                    protocol.receive_data(data)
                    events = protocol.events_received()
                    outgoing = b"".join(protocol.data_to_send())
        except Exception as exc:
            logger.exception("Processing data from the server failed.")
            error = exc
        finally:
            self._closing = True
            sock.close()
            on_close(error)


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
