"""The WebSockets transport on gevent: upgrade, read loop and pre-encoded outbound frames.

wsproto (the engine under flask-sock's simple-websocket) validates the upgrade and parses
inbound frames. The connection is driven here rather than through simple-websocket's server
because SignalR needs to refuse a request with an HTTP status (401/403/404/409) before
upgrading, and because outbound frames are built once per broadcast and written to every socket
as they are: a server frame is unmasked, so the same bytes serve every recipient. Frames are
never compressed (permessage-deflate is not offered back), which keeps them shareable.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

from flask import Response
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

from flask_signalr import _concurrency
from flask_signalr.errors import ConnectionLostError
from flask_signalr.protocol.base import TransferFormat
from flask_signalr.server.writer import StreamWriter

logger = logging.getLogger("flask_signalr")

_OPCODE_TEXT = 0x1
_OPCODE_BINARY = 0x2
_RECEIVE_SIZE = 65536
#: How long a server-initiated close waits for the client's close frame (ASP.NET: 5 s).
CLOSE_TIMEOUT = 5.0


def encode_frame(payload: bytes, opcode: int) -> bytes:
    """A complete, unmasked, final WebSocket frame (RFC 6455 §5.2) carrying ``payload``."""
    length = len(payload)
    first = 0x80 | opcode
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def is_websocket_request(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket"


def raw_socket(environ: dict[str, Any]) -> socket.socket:
    """The client socket under a gevent WSGI server (gevent.pywsgi or gunicorn -k gevent)."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        stream = environ.get("wsgi.input")
        stream = getattr(stream, "rfile", stream)
        sock = getattr(getattr(stream, "raw", None), "_sock", None)
    if sock is None:
        raise RuntimeError(
            "flask_signalr could not reach the client socket: WebSockets need a gevent server. "
            "Start the app with signalr.run(app) or gunicorn -k gevent."
        )
    return sock  # type: ignore[no-any-return]


class ConsumedSocketResponse(Response):
    """Returned once the WebSocket session is over: the WSGI server must not write a reply."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if "gunicorn.socket" in environ:
            raise StopIteration  # gunicorn's way of saying "connection already handled"
        return []


def _upgrade_request_bytes(environ: dict[str, Any]) -> bytes:
    lines = [b"GET / HTTP/1.1"]
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
            lines.append(f"{name}: {value}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


class WebSocketTransport:
    """One upgraded WebSocket: the connection's transport while the read loop runs."""

    name = "WebSockets"
    supports_binary = True

    def __init__(self, environ: dict[str, Any], outbound_limit: int, stall_timeout: float) -> None:
        self._socket = raw_socket(environ)
        self._protocol = WSConnection(ConnectionType.SERVER)
        self._protocol.receive_data(_upgrade_request_bytes(environ))
        self._writer = StreamWriter(
            self._socket.sendall,
            lambda data: _concurrency.try_send(self._socket, data),
            outbound_limit,
            stall_timeout,
            self._shutdown,
        )
        self._shut = False
        self._close_timer: Any = None

    def accept(self) -> bool:
        """Send the 101 response; False if the upgrade request was invalid (nothing sent)."""
        try:
            events = list(self._protocol.events())
        except RemoteProtocolError:
            return False
        if not events or not isinstance(events[0], Request):
            return False
        self._socket.sendall(self._protocol.send(AcceptConnection()))
        return True

    # -- Transport protocol -------------------------------------------------------------------

    def output_kind(self, transfer_format: TransferFormat) -> str:
        return "ws-binary" if transfer_format is TransferFormat.BINARY else "ws-text"

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        opcode = _OPCODE_BINARY if transfer_format is TransferFormat.BINARY else _OPCODE_TEXT
        return encode_frame(record, opcode)

    def send(self, chunk: bytes) -> bool:
        return self._writer.send(chunk)

    def close(self) -> None:
        """Send a close frame after everything queued; drop the socket if the peer lingers."""
        try:
            frame = self._protocol.send(CloseConnection(code=1000))
        except Exception:  # noqa: BLE001 - wsproto refuses when a close is already under way
            frame = b""
        self._writer.close(frame)
        if self._close_timer is None:
            self._close_timer = _concurrency.spawn_later(CLOSE_TIMEOUT, self._shutdown)

    def abort(self) -> None:
        self._writer.abort()

    # -- reading ------------------------------------------------------------------------------

    def run(self, on_data: Callable[[bytes], None]) -> BaseException | None:
        """Read until the socket ends; feed message payloads to ``on_data``.

        Returns None when the client closed properly, else the reason the connection failed.
        """
        try:
            while True:
                try:
                    data = self._socket.recv(_RECEIVE_SIZE)
                except OSError as exc:
                    return None if self._shut else ConnectionLostError(f"WebSocket error: {exc}")
                if not data:
                    return (
                        None
                        if self._shut
                        else ConnectionLostError(
                            "The client closed the socket without a WebSocket close frame."
                        )
                    )
                self._protocol.receive_data(data)
                for event in self._protocol.events():
                    if isinstance(event, TextMessage):
                        on_data(event.data.encode("utf-8"))
                    elif isinstance(event, BytesMessage):
                        on_data(bytes(event.data))
                    elif isinstance(event, Ping):
                        self.send(self._protocol.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        self._answer_close(event)
                        return None
        except RemoteProtocolError as exc:
            logger.info("Closing a WebSocket that broke the protocol: %s", exc)
            self._writer.abort()
            return ConnectionLostError(f"WebSocket protocol error: {exc}")
        finally:
            if self._close_timer is not None:
                self._close_timer.kill(block=False)
            self._writer.close()

    def _answer_close(self, event: CloseConnection) -> None:
        try:
            self._writer.close(self._protocol.send(event.response()))
        except Exception:  # noqa: BLE001 - our own close was already sent; nothing to answer
            self._writer.close()

    def _shutdown(self) -> None:
        """End the TCP stream; the read loop sees EOF and the WSGI server closes the socket."""
        if not self._shut:
            self._shut = True
            with contextlib.suppress(OSError):  # already gone
                self._socket.shutdown(socket.SHUT_RDWR)
