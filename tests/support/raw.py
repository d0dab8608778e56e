"""A raw SignalR client for wire-level tests: plain HTTP and a plain WebSocket, no SignalR library.

``RawHub`` does exactly what a test tells it to (negotiate, open a socket with a token, send any
bytes in any frame type) and reports exactly what the server sent: frames with their opcodes,
records split on 0x1E, the close frame's status code and the moment the socket ends. Reads wait
with a timeout, never with sleeps, so a missing reply fails fast with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
import websocket
from websocket import ABNF

from support.server import RunningServer

RS = b"\x1e"
TEXT = ABNF.OPCODE_TEXT
BINARY = ABNF.OPCODE_BINARY
CLOSE = ABNF.OPCODE_CLOSE

#: How long a read waits for the server before the test fails.
READ_TIMEOUT = 5.0

_T = TypeVar("_T")


class SocketClosedError(AssertionError):
    """The server closed the WebSocket while the test still expected data."""


class NothingArrivedError(AssertionError):
    """The server sent nothing within the read timeout."""


@dataclass(frozen=True)
class Frame:
    """One complete WebSocket message (continuations joined) or a close frame."""

    opcode: int
    data: bytes

    @property
    def close_code(self) -> int | None:
        if self.opcode != CLOSE:
            return None
        return struct.unpack("!H", self.data[:2])[0] if len(self.data) >= 2 else 1005


def record(message: dict[str, Any]) -> bytes:
    """One JSON record: compact JSON plus the record separator."""
    return json.dumps(message, separators=(",", ":")).encode() + RS


def handshake_record(protocol: str = "json", version: int = 1) -> bytes:
    return record({"protocol": protocol, "version": version})


def websocket_status(url: str, **options: Any) -> int:
    """The HTTP status the server answers a WebSocket upgrade to ``url`` with (101 = accepted)."""
    try:
        ws = websocket.create_connection(url, timeout=READ_TIMEOUT, **options)
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code)
    status = int(ws.getstatus())
    ws.abort()
    ws.shutdown()
    return status


class RawHub:
    """One raw client of one hub of a :class:`RunningServer`."""

    def __init__(self, server: RunningServer, path: str = "/hubs/test") -> None:
        self.server = server
        self.path = path
        self.ws: websocket.WebSocket | None = None
        self.close_frame: Frame | None = None
        self._frames: deque[Frame] = deque()
        self._tail = b""
        self._records: deque[tuple[int, bytes]] = deque()
        self._next_id = 0

    # -- HTTP ---------------------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        return self.server.hub_url(self.path)

    @property
    def ws_url(self) -> str:
        return self.server.ws_url + self.path

    def negotiate(self, version: int | str | None = 1, **kwargs: Any) -> requests.Response:
        """``POST {hub}/negotiate`` (``version=None`` sends no negotiateVersion)."""
        params = kwargs.pop("params", {})
        if version is not None:
            params = {"negotiateVersion": version, **params}
        return requests.post(
            self.http_url + "/negotiate", params=params, timeout=READ_TIMEOUT, **kwargs
        )

    def negotiated(self, version: int | str | None = 1, **kwargs: Any) -> dict[str, Any]:
        response = self.negotiate(version, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    # -- WebSocket ----------------------------------------------------------------------------

    def socket_url(self, token: str | None = None, access_token: str | None = None) -> str:
        query = []
        if token is not None:
            query.append(f"id={token}")
        if access_token is not None:
            query.append(f"access_token={access_token}")
        return self.ws_url + ("?" + "&".join(query) if query else "")

    def open(
        self, token: str | None = None, access_token: str | None = None, **options: Any
    ) -> RawHub:
        """Open the WebSocket (``token=None``: skipNegotiation); raises on a refused upgrade."""
        self.ws = websocket.create_connection(
            self.socket_url(token, access_token), timeout=READ_TIMEOUT, **options
        )
        return self

    def connect(
        self,
        token: str | None = None,
        access_token: str | None = None,
        protocol: str = "json",
        **options: Any,
    ) -> RawHub:
        """Open the socket and complete a handshake (asserting the ``{}`` reply)."""
        self.open(token, access_token, **options)
        self.send(handshake_record(protocol))
        reply = self.next_frame()
        assert reply.data == b"{}" + RS, reply
        return self

    def negotiate_and_connect(self, **options: Any) -> dict[str, Any]:
        """Negotiate (v1), open the socket with the token and shake hands; returns negotiate."""
        body = self.negotiated()
        self.connect(body["connectionToken"], **options)
        return body

    def send(self, data: bytes | str, opcode: int = TEXT) -> None:
        """Send ``data`` as one WebSocket message of the given type."""
        assert self.ws is not None, "open() first"
        payload = data.encode() if isinstance(data, str) else data
        self.ws.send(payload, opcode)

    def send_records(self, *messages: dict[str, Any]) -> None:
        """Send JSON records, all in one WebSocket message."""
        self.send(b"".join(record(message) for message in messages))

    def send_fragmented(self, parts: Iterable[bytes], opcode: int = TEXT) -> None:
        """Send one WebSocket message as several frames (RFC 6455 fragmentation)."""
        assert self.ws is not None
        chunks = list(parts)
        for index, chunk in enumerate(chunks):
            frame = ABNF.create_frame(
                chunk, opcode if index == 0 else ABNF.OPCODE_CONT, fin=int(index == len(chunks) - 1)
            )
            self.ws.send_frame(frame)

    # -- reading ------------------------------------------------------------------------------

    def next_frame(self, timeout: float = READ_TIMEOUT) -> Frame:
        """The next data message or close frame; pings are answered, pongs dropped."""
        if self._frames:
            return self._frames.popleft()
        return self._read_frame(timeout)

    def _read_frame(self, timeout: float) -> Frame:
        assert self.ws is not None, "open() first"
        if self.close_frame is not None:
            raise SocketClosedError(f"The server already closed the socket: {self.close_frame}")
        self.ws.settimeout(timeout)
        fragments: list[bytes] = []
        first_opcode = 0
        while True:
            try:
                raw = self.ws.recv_frame()
            except websocket.WebSocketTimeoutException:
                raise NothingArrivedError(f"Nothing arrived within {timeout}s.") from None
            except (websocket.WebSocketConnectionClosedException, OSError) as exc:
                raise SocketClosedError(f"The socket ended without a close frame: {exc}") from None
            if raw.opcode == ABNF.OPCODE_PING:
                self.ws.pong(raw.data)
                continue
            if raw.opcode == ABNF.OPCODE_PONG:
                continue
            if raw.opcode == CLOSE:
                self.close_frame = Frame(CLOSE, bytes(raw.data))
                with contextlib.suppress(Exception):  # the server may have shut down already
                    self.ws.send_close()
                return self.close_frame
            if raw.opcode != ABNF.OPCODE_CONT:
                first_opcode = raw.opcode
            fragments.append(bytes(raw.data))
            if raw.fin:
                return Frame(first_opcode, b"".join(fragments))

    def nothing_arrives(self, within: float) -> bool:
        """Whether the server stays silent for ``within`` seconds (a frame that does arrive is
        kept for the next read)."""
        try:
            frame = self.next_frame(within)
        except NothingArrivedError:
            return True
        self._frames.appendleft(frame)
        return False

    def next_record(self, timeout: float = READ_TIMEOUT) -> tuple[int, bytes]:
        """The next RS-terminated record (without RS) and the opcode of the frame it ended in."""
        deadline = time.monotonic() + timeout
        while not self._records:
            frame = self.next_frame(max(0.001, deadline - time.monotonic()))
            if frame.opcode == CLOSE:
                raise SocketClosedError(f"Closed (code {frame.close_code}) instead of a record.")
            parts = (self._tail + frame.data).split(RS)
            self._tail = parts.pop()
            self._records.extend((frame.opcode, part) for part in parts)
        return self._records.popleft()

    def next_message(self, timeout: float = READ_TIMEOUT, skip_pings: bool = True) -> Any:
        """The next JSON hub message (pings skipped unless asked for)."""
        while True:
            _opcode, data = self.next_record(timeout)
            message = json.loads(data)
            if not (skip_pings and message == {"type": 6}):
                return message

    def invoke(self, target: str, *arguments: Any, timeout: float = READ_TIMEOUT) -> Any:
        """A blocking invocation; the very next non-ping message must be its completion."""
        invocation_id = self.send_invocation(target, *arguments)
        message = self.next_message(timeout)
        assert message.get("type") == 3, f"expected the completion of {target}, got {message}"
        assert message.get("invocationId") == invocation_id, message
        return message

    def send_invocation(self, target: str, *arguments: Any, blocking: bool = True) -> str | None:
        message: dict[str, Any] = {"type": 1, "target": target, "arguments": list(arguments)}
        invocation_id = None
        if blocking:
            self._next_id += 1
            invocation_id = message["invocationId"] = str(self._next_id)
        self.send_records(message)
        return invocation_id

    def result(self, target: str, *arguments: Any) -> Any:
        """Invoke and return the result, failing on an error completion."""
        completion = self.invoke(target, *arguments)
        assert "error" not in completion, completion
        return completion.get("result")

    def read_until_closed(self, timeout: float = READ_TIMEOUT) -> tuple[list[Any], Frame]:
        """Every message (pings skipped) up to the close frame, and the close frame."""
        deadline = time.monotonic() + timeout
        messages = []
        while True:
            remaining = max(0.001, deadline - time.monotonic())
            try:
                messages.append(self.next_message(remaining))
            except SocketClosedError:
                if self.close_frame is None:
                    raise
                return messages, self.close_frame

    def socket_ends(self, timeout: float = READ_TIMEOUT) -> bool:
        """Whether the TCP stream ends (EOF or reset) within ``timeout``."""
        assert self.ws is not None
        sock = self.ws.sock
        if sock is None:
            return True
        sock.settimeout(timeout)
        try:
            while sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True
        return True

    def drop(self) -> None:
        """Close the TCP connection abruptly: no Close message, no close frame."""
        if self.ws is not None:
            self.ws.shutdown()

    def close(self) -> None:
        """Release the socket (test teardown)."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.abort()
            self.ws.shutdown()
            self.ws = None
