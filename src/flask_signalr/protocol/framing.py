"""Record framing: where one hub message ends and the next begins.

Transports deliver arbitrary chunks (a WebSocket frame may hold several records, a record may be
split across frames), so both splitters return the complete records plus the unconsumed tail.
A record larger than the allowed size is refused as soon as it is known to be too large, before
the rest of it is buffered, so a peer cannot make us hold an unbounded partial record.
"""

from __future__ import annotations

from flask_signalr.protocol.errors import MessageTooLargeError, ProtocolError

RECORD_SEPARATOR = b"\x1e"
_MAX_VARINT_BYTES = 5
_MAX_RECORD_LENGTH = 0x7FFFFFFF


def write_text_record(payload: bytes) -> bytes:
    """Frame a JSON payload: the payload followed by the 0x1E record separator."""
    return payload + RECORD_SEPARATOR


def split_text_records(buffer: bytes, max_record_size: int) -> tuple[list[bytes], bytes]:
    """Split 0x1E-terminated records off ``buffer``.

    Returns the complete records (without their separators) and the unterminated tail.
    Raises :class:`MessageTooLargeError` when a record, finished or not, exceeds
    ``max_record_size`` bytes (0 disables the check).
    """
    records = buffer.split(RECORD_SEPARATOR)
    tail = records.pop()
    if max_record_size:
        if len(tail) > max_record_size:
            raise MessageTooLargeError(max_record_size)
        for record in records:
            if len(record) > max_record_size:
                raise MessageTooLargeError(max_record_size)
    return records, tail


def write_varint(value: int) -> bytes:
    """Encode an unsigned VarInt: 7 bits per byte, least significant group first."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_binary_record(payload: bytes) -> bytes:
    """Frame a MessagePack payload: VarInt length prefix, then the payload."""
    return write_varint(len(payload)) + payload


def split_binary_records(buffer: bytes, max_record_size: int) -> tuple[list[bytes], bytes]:
    """Split VarInt length-prefixed records off ``buffer``.

    Returns the complete record bodies and the incomplete tail. Zero-length records are
    skipped, as the JavaScript and Go implementations tolerate them.
    """
    records: list[bytes] = []
    view = memoryview(buffer)
    position = 0
    end = len(buffer)
    while position < end:
        length = 0
        shift = 0
        cursor = position
        while True:
            # Checked before "need more data": five bytes that still ask for a sixth are
            # already known to be invalid.
            if cursor - position == _MAX_VARINT_BYTES:
                raise ProtocolError("Messages bigger than 2GB are not supported.")
            if cursor == end:
                return records, bytes(view[position:])
            byte = buffer[cursor]
            cursor += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if length > _MAX_RECORD_LENGTH:
            raise ProtocolError("Messages bigger than 2GB are not supported.")
        if max_record_size and length > max_record_size:
            raise MessageTooLargeError(max_record_size)
        if end - cursor < length:
            return records, bytes(view[position:])
        if length:
            records.append(bytes(view[cursor : cursor + length]))
        position = cursor + length
    return records, b""
