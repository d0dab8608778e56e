"""What the two HTTP transports share: output the client fetches, input the client POSTs.

Server-Sent Events and long polling carry server-to-client bytes in responses to the client's
GET requests and client-to-server bytes in separate ``POST {hub}?id=T`` requests. Outbound
chunks wait in a :class:`PendingOutput` until the response loop or the next poll takes them;
POST bodies are handed to the connection piece by piece, so a large body never sits in memory
whole, and one POST at a time, so two concurrent POSTs cannot interleave partial records.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import IO, Any

from flask_signalr import _concurrency
from flask_signalr.server.writer import PendingOutput
from flask_signalr.transports.websocket import raw_socket

#: How much of a POST body is read before it is handed to the connection.
POST_READ_SIZE = 65536


def send_without_delay(environ: dict[str, Any]) -> None:
    """Turn off Nagle's algorithm on the request's socket.

    Polls, POST answers and events are small writes on keep-alive connections; with Nagle's
    algorithm one of them often waits for the client's delayed ACK (measured with the JS client:
    30-40 ms per long-polling round trip instead of 5).
    """
    with contextlib.suppress(OSError, RuntimeError):  # no socket to tune: nothing to gain
        raw_socket(environ).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HttpTransport:
    """Outbound side through a :class:`PendingOutput`, inbound side through POST bodies."""

    def __init__(self, outbound_limit: int) -> None:
        self._output = PendingOutput(outbound_limit)
        self._on_data: Callable[[bytes], None] | None = None
        self._posting = _concurrency.Lock()

    def send(self, chunk: bytes) -> bool:
        return self._output.send(chunk)

    def close(self) -> None:
        self._output.close()

    def abort(self) -> None:
        self._output.abort()

    def _start(self, on_data: Callable[[bytes], None]) -> None:
        """Called from ``run``: from now on POST bodies go to ``on_data``."""
        self._on_data = on_data

    def receive(self, body: IO[bytes]) -> None:
        """Feed a POST body to the connection as it is read."""
        on_data = self._on_data
        if on_data is None:
            # The endpoint registers a connection (making POSTs find it) and starts its
            # transport in one step, so a POST cannot get here first.
            raise RuntimeError("POST body for a transport that has not started.")
        with self._posting:
            while chunk := body.read(POST_READ_SIZE):
                on_data(chunk)
