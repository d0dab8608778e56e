"""The WebSockets transport on gevent: upgrade, read loop and pre-encoded outbound frames.

The upgrade is checked and answered by the ``websockets`` library's server protocol; inbound
frames are read by :mod:`.frames`. The connection is driven here rather than through flask-sock
because SignalR must refuse a request with an HTTP status (401/403/404/409) before upgrading,
and because outbound frames are built once per broadcast and written to every socket as they
are: a server frame is unmasked, so the same bytes serve every recipient. Frames are never
compressed (permessage-deflate is not offered back), which keeps them shareable.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from flask import Response
from websockets.datastructures import Headers
from websockets.http11 import Request
from websockets.server import ServerProtocol

from flask_signalr import _concurrency
from flask_signalr.errors import ConnectionLostError
from flask_signalr.protocol.base import TransferFormat
from flask_signalr.server.writer import StreamWriter
from flask_signalr.transports.frames import (
    CLOSE_NORMAL,
    Close,
    FrameError,
    FrameReader,
    Ping,
    encode_close,
    encode_frame,
)

logger = logging.getLogger("flask_signalr")

_OPCODE_TEXT = 0x1
_OPCODE_BINARY = 0x2
_OPCODE_PONG = 0xA
_RECEIVE_SIZE = 65536
#: Largest WebSocket message accepted (a message may carry many records).
MAX_MESSAGE_SIZE = 4 * 1024 * 1024
#: websockets logs every upgrade at INFO; ours says what matters.
_websockets_logger = logging.getLogger("flask_signalr.websockets")
#: How long a server-initiated close waits for the client's close frame (ASP.NET: 5 s).
CLOSE_TIMEOUT = 5.0


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


def _upgrade_request(environ: dict[str, Any]) -> Request:
    headers = Headers()
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers["-".join(part.capitalize() for part in key[5:].split("_"))] = value
    return Request(environ.get("PATH_INFO", "/") or "/", headers)


class WebSocketTransport:
    """One upgraded WebSocket: the connection's transport while the read loop runs."""

    name = "WebSockets"
    supports_binary = True

    def __init__(
        self,
        environ: dict[str, Any],
        outbound_limit: int,
        stall_timeout: float,
        max_message_size: int | None = MAX_MESSAGE_SIZE,
    ) -> None:
        """``max_message_size`` bounds one WebSocket message (a message may hold many records;
        each record is also bounded by ``maximum_receive_message_size``)."""
        self._socket = raw_socket(environ)
        self._request = _upgrade_request(environ)
        self._frames = FrameReader(max_message_size)
        self._close_sent = False
        self._writer = StreamWriter(
            self._socket.sendall,
            _concurrency.nonblocking_sender(self._socket),
            outbound_limit,
            stall_timeout,
            self._shutdown,
        )
        #: Queue bytes for the client without blocking (the writer's method, bound once).
        self.send: Callable[[bytes], bool] = self._writer.send
        self._shut = False
        self._close_timer: Any = None

    def accept(self) -> bool:
        """Send the 101 response; False if the upgrade request was invalid (nothing sent)."""
        upgrade = ServerProtocol(logger=_websockets_logger)
        response = upgrade.accept(self._request)
        if response.status_code != 101:
            return False
        upgrade.send_response(response)
        self._socket.sendall(b"".join(upgrade.data_to_send()))
        # Reads wait as long as the client is silent (the keep-alive clock drops dead clients,
        # shutting the socket down); a socket timeout would only add a timer to every read.
        self._socket.settimeout(None)
        return True

    # -- Transport protocol -------------------------------------------------------------------

    def output_kind(self, transfer_format: TransferFormat) -> str:
        return "ws-binary" if transfer_format is TransferFormat.BINARY else "ws-text"

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        opcode = _OPCODE_BINARY if transfer_format is TransferFormat.BINARY else _OPCODE_TEXT
        return encode_frame(record, opcode)

    def close(self) -> None:
        """Send a close frame after everything queued; drop the socket if the peer lingers."""
        frame = b""
        if not self._close_sent:
            self._close_sent = True
            frame = encode_close(CLOSE_NORMAL)
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
        frames = self._frames
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
                try:
                    events = frames.feed(data)
                except FrameError as exc:
                    logger.info("Closing a WebSocket that broke the protocol: %s", exc)
                    self._finish_with(encode_close(exc.code, exc.reason))
                    return ConnectionLostError(f"WebSocket protocol error: {exc}")
                for event in events:
                    if isinstance(event, bytes):
                        on_data(event)
                    elif isinstance(event, Ping):
                        self.send(encode_frame(event.payload, _OPCODE_PONG))
                    elif isinstance(event, Close):
                        self._finish_with(b"" if self._close_sent else encode_close(event.code))
                        return None
        finally:
            if self._close_timer is not None:
                self._close_timer.kill(block=False)
            # Let the last frames (a close frame) go out, then end the stream: only then may
            # the WSGI server take the socket back (it would read stray frames as a request).
            self._writer.close()
            self._writer.done.wait(CLOSE_TIMEOUT)
            self._shutdown()

    def _finish_with(self, frame: bytes) -> None:
        """Write ``frame`` (a close frame, or nothing) after what is queued, then end."""
        self._close_sent = True
        self._writer.close(frame)

    def _shutdown(self) -> None:
        """End the TCP stream; the read loop sees EOF and the WSGI server closes the socket."""
        if not self._shut:
            self._shut = True
            with contextlib.suppress(OSError):  # already gone
                self._socket.shutdown(socket.SHUT_RDWR)
