"""WebSocket frames from clients (RFC 6455 §5), parsed from a byte stream. No I/O here.

Every invocation a client makes arrives as a small frame, so reading frames is on the hottest
path there is. General-purpose parsers (wsproto, websockets' sans-IO protocol) spend several
microseconds per frame in generator and event machinery; this reader handles exactly what a
server needs (masked client frames, fragmentation, ping, pong, close, size limits), unmasks with
the ``websockets`` library's C routine, and costs about a microsecond for a small frame.
Protocol violations raise :class:`FrameError` with the close code to answer with.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

try:  # the C routine when websockets was built with its speedups
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets without its C extension
    from websockets.utils import apply_mask

OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_NO_STATUS = 1005
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009

_DATA = (OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY)
_CONTROL = (OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG)


class FrameError(Exception):
    """The client broke the WebSocket protocol; close the connection with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Ping:
    payload: bytes


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


#: What :meth:`FrameReader.feed` yields: message data (bytes), a ping to answer, or a close.
FrameEvent = bytes | Ping | Close


def encode_frame(payload: bytes, opcode: int) -> bytes:
    """A complete, unmasked, final frame, as servers send them."""
    length = len(payload)
    first = 0x80 | opcode
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def encode_close(code: int, reason: str = "") -> bytes:
    """A close frame (no payload for 1005, which means "no status")."""
    payload = b"" if code == CLOSE_NO_STATUS else struct.pack("!H", code) + reason.encode()
    return encode_frame(payload[:125], OPCODE_CLOSE)


class FrameReader:
    """Incremental parser of one client's frames."""

    __slots__ = ("_buffer", "_in_message", "_max_message_size", "_message_size")

    def __init__(self, max_message_size: int | None) -> None:
        self._buffer = bytearray()  # an incomplete frame, grown in place
        self._max_message_size = max_message_size
        self._in_message = False  # inside a fragmented message
        self._message_size = 0

    def feed(self, data: bytes) -> list[FrameEvent]:
        """Parse ``data`` (any chunk of the stream); return the events of complete frames."""
        if self._buffer:
            self._buffer += data
            buffer: bytes | bytearray = self._buffer
        else:
            buffer = data
        events: list[FrameEvent] = []
        position, end = 0, len(buffer)
        while end - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                if end - position < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, position + 2)
                header = 4
            elif length == 127:
                if end - position < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, position + 2)
                header = 10
            if first & 0x70:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "Reserved bits must be 0.")
            if not second & 0x80:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "Client frames must be masked.")
            opcode = first & 0x0F
            final = bool(first & 0x80)
            self._check(opcode, final, length)
            if end - position < header + 4 + length:
                break
            mask = buffer[position + header : position + header + 4]
            start = position + header + 4
            payload = apply_mask(bytes(buffer[start : start + length]), mask) if length else b""
            position = start + length
            if opcode in _DATA:
                self._in_message = not final
                self._message_size = self._message_size + length if not final else 0
                if payload:
                    events.append(payload)
            elif opcode == OPCODE_PING:
                events.append(Ping(payload))
            elif opcode == OPCODE_CLOSE:
                events.append(_parse_close(payload))
                self._buffer = bytearray()
                return events  # nothing after a close frame is read
        self._buffer = bytearray(buffer[position:])
        return events

    def _check(self, opcode: int, final: bool, length: int) -> None:
        if opcode in _CONTROL:
            if not final or length > 125:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "Control frames must be final and short.")
            return
        if opcode not in _DATA:
            raise FrameError(CLOSE_PROTOCOL_ERROR, f"Unknown opcode {opcode:#x}.")
        if (opcode == OPCODE_CONTINUATION) != self._in_message:
            raise FrameError(
                CLOSE_PROTOCOL_ERROR,
                "Unexpected continuation frame."
                if opcode == OPCODE_CONTINUATION
                else "Expected a continuation frame.",
            )
        limit = self._max_message_size
        if limit is not None and self._message_size + length > limit:
            raise FrameError(CLOSE_TOO_BIG, f"Messages are limited to {limit} bytes.")


def _parse_close(payload: bytes) -> Close:
    if not payload:
        return Close(CLOSE_NO_STATUS, "")
    if len(payload) == 1:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "A close frame's payload needs a 2-byte code.")
    (code,) = struct.unpack_from("!H", payload)
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "Close reason is not UTF-8.") from None
    return Close(code, reason)
