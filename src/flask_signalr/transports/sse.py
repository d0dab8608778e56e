"""The Server-Sent Events transport: one long ``text/event-stream`` response per connection.

The client opens ``GET {hub}?id=T`` with ``Accept: text/event-stream`` and sends through
``POST {hub}?id=T``. The response is written from inside the WSGI call through the server's
``write`` callable, so the connection runs in the request's greenlet (like a WebSocket session)
and each write goes to the socket at once: gevent's server sends every write as one HTTP chunk
and buffers nothing. Senders never wait for that write; their records queue in a bounded
:class:`~flask_signalr.server.writer.PendingOutput` that the stream loop empties.

An EventSource never sends anything on its socket, so the socket turning readable means the
client went away: a small watcher notices that at once instead of at the next failed write.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

from flask import Request, Response

from flask_signalr import _concurrency
from flask_signalr.errors import ConnectionLostError
from flask_signalr.protocol.base import TransferFormat
from flask_signalr.transports.base import HttpTransport
from flask_signalr.transports.websocket import raw_socket

logger = logging.getLogger("flask_signalr")

Write = Callable[[bytes], object]

#: A comment line: makes the browser fire ``onopen`` (Firefox wants body bytes for that).
OPENING_COMMENT = b":\r\n"


def is_event_stream_request(request: Request) -> bool:
    """Whether the client asked for ``text/event-stream`` (exactly, not through ``*/*``)."""
    return any(value == "text/event-stream" for value, _quality in request.accept_mimetypes)


def encode_event(payload: bytes) -> bytes:
    """One event carrying ``payload``: a ``data:`` line per payload line, then a blank line."""
    lines = (line.removesuffix(b"\r") for line in payload.split(b"\n"))
    return b"".join(b"data: " + line + b"\r\n" for line in lines) + b"\r\n"


class EventStreamResponse(Response):
    """The ``text/event-stream`` response; ``run(write)`` writes its body and returns at the end.

    ``Content-Encoding: identity`` keeps compression middleware off, and
    ``X-Accel-Buffering: no`` asks nginx not to buffer the stream.
    """

    def __init__(self, run: Callable[[Write], None]) -> None:
        super().__init__(content_type="text/event-stream")
        self.headers["Cache-Control"] = "no-cache,no-store"
        self.headers["Pragma"] = "no-cache"
        self.headers["Content-Encoding"] = "identity"
        self.headers["X-Accel-Buffering"] = "no"
        self.direct_passthrough = True
        self._run = run

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        self._run(start_response(self.status, self.headers.to_wsgi_list()))
        return []


class ServerSentEventsTransport(HttpTransport):
    """One event stream: the connection's transport while :meth:`stream` runs."""

    name = "ServerSentEvents"
    supports_binary = False

    def __init__(self, environ: dict[str, Any], outbound_limit: int, stall_timeout: float) -> None:
        super().__init__(outbound_limit)
        self._socket = raw_socket(environ)
        self._stall_timeout = stall_timeout

    def output_kind(self, transfer_format: TransferFormat) -> str:
        return "sse"

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        return encode_event(record)

    def abort(self) -> None:
        """End now; a write blocked on a client that stopped reading fails at once."""
        super().abort()
        with contextlib.suppress(OSError):  # already gone
            self._socket.shutdown(socket.SHUT_RDWR)

    def stream(self, write: Write, on_data: Callable[[bytes], None]) -> BaseException | None:
        """Write the stream until the connection or the client ends it.

        The endpoint has registered the connection before this runs, so the handshake POST the
        client sends as soon as the opening comment arrives finds it. Returns None when the
        stream ended normally or the client closed it (its normal way to leave), else the
        reason it failed.
        """
        self._start(on_data)
        watcher = _concurrency.spawn(self._watch_peer)
        try:
            self._write(write, OPENING_COMMENT)
            while (data := self._output.take(None)) is not None:
                self._write(write, data)
        except _concurrency.Timeout:
            logger.warning("A client stopped reading for %ss; dropping it.", self._stall_timeout)
            self.abort()
            return ConnectionLostError("The client stopped reading the event stream.")
        except OSError as exc:
            self.abort()
            return ConnectionLostError(f"Event stream error: {exc}")
        finally:
            watcher.kill()  # and wait: the server reads its next request off this socket
        return None

    def _write(self, write: Write, data: bytes) -> None:
        with _concurrency.Timeout(self._stall_timeout):
            write(data)

    def _watch_peer(self) -> None:
        try:
            gone = not self._socket.recv(1, socket.MSG_PEEK)
        except OSError:
            gone = True
        if gone:
            self.abort()
