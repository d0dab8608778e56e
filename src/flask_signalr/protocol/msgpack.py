"""The ``messagepack`` hub protocol: one MessagePack array per record, VarInt length-prefixed.

Every message is an array whose first element is the message type (a positive fixint). The
layouts follow the SignalR hub protocol specification and what ASP.NET Core writes::

    Invocation        [1, Headers, InvocationId | nil, Target, Arguments, StreamIds]
    StreamItem        [2, Headers, InvocationId, Item]
    Completion        [3, Headers, InvocationId, 1, Error]     error
                      [3, Headers, InvocationId, 2]            no result (end of a stream)
                      [3, Headers, InvocationId, 3, Result]    result, nil included
    StreamInvocation  [4, Headers, InvocationId, Target, Arguments, StreamIds]
    CancelInvocation  [5, Headers, InvocationId]
    Ping              [6]
    Close             [7, Error | nil, AllowReconnect]
    Ack / Sequence    [8, SequenceId] / [9, SequenceId]

Writing is strict and reading is lenient, because the clients disagree: Invocations are always
written with six elements (signalrcore reads the StreamIds slot unconditionally) but accepted with
five (the JavaScript client leaves it out); Close is written with three elements and accepted with
two (again the JavaScript client). Elements after the last one we know are ignored, so newer
peers may append fields. Unknown message types are ignored; anything else that is not a valid
message raises :class:`~flask_signalr.protocol.errors.ProtocolError`.

Value mapping (argument, item and result values):

- ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``/``tuple``, ``dict`` map to nil,
  bool, int, float64, str, array and map; subclasses (``IntEnum``, ``OrderedDict``, ...) too.
- ``bytes``, ``bytearray`` and ``memoryview`` are written as ``bin`` and read back as ``bytes``
  (the JavaScript client sees a ``Uint8Array``). JSON writes base64 text instead.
- A timezone-aware ``datetime`` is written as the MessagePack timestamp extension (type -1,
  the JavaScript client's ``Date``); a *naive* ``datetime`` is taken to be UTC, never local time,
  so the result does not depend on the server's time zone. Timestamps are read back as aware
  UTC ``datetime`` objects (sub-microsecond precision is truncated; a timestamp outside the
  years 1-9999 cannot be represented and is a protocol error).
- ``date``, ``time``, ``UUID``, ``Enum``, ``set``/``frozenset`` and dataclasses are converted as
  for JSON (:func:`~flask_signalr.protocol.values.to_plain`): ISO-8601 string, string, the
  enum's value, array, map.
- Integers must fit in 64 bits (signed or unsigned); a larger one makes :meth:`write_message`
  raise :class:`ValueError` (send it as a string). The JavaScript client reads integers beyond
  2**53 with precision loss.
- NaN and the infinities are valid MessagePack floats and are sent as such, unlike JSON, whose
  encoder refuses them.
- Incoming arrays become ``list`` and maps ``dict``. Map keys must be strings or integers;
  any other key (float, nil, bool, binary, array, map) is a protocol error, while .NET
  ``Dictionary<int, T>`` and JavaScript ``Map`` objects with number keys still work. Keys are
  written as given; the JavaScript client only accepts string and number keys.
- Other extension types are read as :class:`msgpack.ExtType` and written back unchanged.
- Any other value makes :meth:`write_message` raise :class:`TypeError`.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

import msgpack  # type: ignore[import-untyped, unused-ignore]

from flask_signalr.protocol import framing
from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.errors import ProtocolError
from flask_signalr.protocol.messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    Headers,
    HubMessage,
    InvocationMessage,
    MessageType,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from flask_signalr.protocol.values import to_plain

_ERROR_RESULT = 1
_VOID_RESULT = 2
_NON_VOID_RESULT = 3

# A Ping never changes, and keep-alives go to every connection: write it once.
_PING_RECORD = framing.write_binary_record(b"\x91\x06")

# Shared, never mutated: most messages carry no headers.
_NO_HEADERS: dict[str, str] = {}


def _default(value: Any) -> Any:
    """Convert what the packer cannot write natively (it calls this before giving up)."""
    if isinstance(value, datetime.datetime):
        # Only naive datetimes and datetime subclasses get here: the packer handles aware
        # ``datetime`` objects itself. UTC, not local time, keeps servers in different zones
        # sending the same instant for the same value.
        if value.utcoffset() is None:
            value = value.replace(tzinfo=datetime.UTC)
        return msgpack.Timestamp.from_datetime(value)
    if isinstance(value, int):
        # The packer hands over integers it cannot fit in 64 bits; to_plain's message would
        # wrongly suggest that ints are unsupported.
        raise ValueError(
            f"Integer {value} does not fit in 64 bits and cannot be sent with MessagePack; "
            "send it as a string."
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)  # keep binary data binary; to_plain would make it base64 text
    return to_plain(value)


_PACK_OPTIONS: dict[str, Any] = {"use_bin_type": True, "datetime": True, "default": _default}

# Reusing one Packer halves the cost of a write (no buffer allocation per call). Greenlets never
# switch inside ``pack``, but real threads can (around ``default``), so a caller that finds the
# shared packer busy packs with a fresh one instead of waiting or corrupting its buffer.
_packer = msgpack.Packer(autoreset=True, **_PACK_OPTIONS)
_packer_lock = threading.Lock()
# A Packer's buffer stays at its peak size; replace it after a big message rather than keep
# that memory for the life of the process.
_MAX_RETAINED_BUFFER = 1 << 20


def packb(value: Any) -> bytes:
    """Encode ``value`` with the value rules above; TypeError/ValueError if impossible."""
    global _packer
    try:
        if _packer_lock.acquire(blocking=False):
            try:
                payload: bytes = _packer.pack(value)
                if len(payload) > _MAX_RETAINED_BUFFER:
                    _packer = msgpack.Packer(autoreset=True, **_PACK_OPTIONS)
            finally:
                _packer_lock.release()
        else:
            payload = msgpack.packb(value, **_PACK_OPTIONS)
    except (OverflowError, RecursionError) as exc:
        # e.g. an IntEnum beyond 64 bits, a self-referencing dataclass
        raise ValueError(f"Cannot encode the value as MessagePack: {exc}") from exc
    return payload


def _object_pairs_hook(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """Build a decoded map, allowing only string and integer keys."""
    for key, _ in pairs:
        key_type = type(key)
        if key_type is not str and key_type is not int:
            raise ProtocolError(f"Map keys must be strings or integers, got {key_type.__name__}.")
    return dict(pairs)


def unpackb(data: bytes) -> Any:
    """Decode exactly one MessagePack value; ProtocolError for anything malformed."""
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            timestamp=3,
            strict_map_key=False,  # keys are checked by the hook instead
            object_pairs_hook=_object_pairs_hook,
        )
    except msgpack.ExtraData:
        raise ProtocolError("Invalid MessagePack: unexpected data after the message.") from None
    except msgpack.FormatError:
        raise ProtocolError("Invalid MessagePack: unknown format byte.") from None
    except msgpack.StackError:
        raise ProtocolError("Invalid MessagePack: values are nested too deeply.") from None
    except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as exc:
        # incomplete input, invalid UTF-8, bad or out-of-range timestamp, oversized length...
        raise ProtocolError(f"Invalid MessagePack: {str(exc) or type(exc).__name__}") from None


class MessagePackHubProtocol(HubProtocol):
    """Codec for ``{"protocol":"messagepack"}`` connections."""

    name = "messagepack"
    version = 2
    transfer_format = TransferFormat.BINARY

    def split_records(self, buffer: bytes, max_record_size: int) -> tuple[list[bytes], bytes]:
        return framing.split_binary_records(buffer, max_record_size)

    def parse_record(self, record: bytes) -> HubMessage | None:
        data = unpackb(record)
        if not isinstance(data, list):
            raise ProtocolError("Invalid payload: expected a MessagePack array.")
        if not data:
            raise ProtocolError("Invalid payload: the message array is empty.")
        return _parse_array(data)

    def write_message(self, message: HubMessage) -> bytes:
        if isinstance(message, PingMessage):
            return _PING_RECORD
        return framing.write_binary_record(packb(_to_array(message)))


def _parse_array(data: list[Any]) -> HubMessage | None:
    kind = data[0]
    if type(kind) is not int:
        raise ProtocolError("Invalid payload: the message type must be an integer.")
    parser = _PARSERS.get(kind)
    if parser is None:
        return None  # unknown types are ignored for forward compatibility
    return parser(data)


def _parse_invocation(data: list[Any]) -> InvocationMessage:
    _check_length(data, 5, "Invocation")
    return InvocationMessage(
        target=_str(data, 3, "target"),
        arguments=_list(data, 4, "arguments"),
        invocation_id=_optional_id(data[2]),
        stream_ids=_stream_ids(data),
        headers=_headers(data[1]),
    )


def _parse_stream_invocation(data: list[Any]) -> StreamInvocationMessage:
    _check_length(data, 5, "StreamInvocation")
    return StreamInvocationMessage(
        invocation_id=_str(data, 2, "invocationId"),
        target=_str(data, 3, "target"),
        arguments=_list(data, 4, "arguments"),
        stream_ids=_stream_ids(data),
        headers=_headers(data[1]),
    )


def _parse_stream_item(data: list[Any]) -> StreamItemMessage:
    _check_length(data, 4, "StreamItem")
    return StreamItemMessage(
        invocation_id=_str(data, 2, "invocationId"), item=data[3], headers=_headers(data[1])
    )


def _parse_cancel(data: list[Any]) -> CancelInvocationMessage:
    _check_length(data, 3, "CancelInvocation")
    return CancelInvocationMessage(_str(data, 2, "invocationId"), _headers(data[1]))


def _parse_ping(data: list[Any]) -> PingMessage:
    return PING


def _parse_ack(data: list[Any]) -> AckMessage:
    _check_length(data, 2, "Ack")
    return AckMessage(_sequence_id(data[1]))


def _parse_sequence(data: list[Any]) -> SequenceMessage:
    _check_length(data, 2, "Sequence")
    return SequenceMessage(_sequence_id(data[1]))


def _parse_completion(data: list[Any]) -> CompletionMessage:
    _check_length(data, 4, "Completion")
    invocation_id = _str(data, 2, "invocationId")
    headers = _headers(data[1])
    result_kind = data[3]
    if type(result_kind) is not int:
        raise ProtocolError("Expected the invocation result kind to be an integer.")
    if result_kind == _VOID_RESULT:
        return CompletionMessage(invocation_id, headers=headers)
    if result_kind == _NON_VOID_RESULT:
        _check_length(data, 5, "Completion")
        return CompletionMessage(invocation_id, result=data[4], has_result=True, headers=headers)
    if result_kind == _ERROR_RESULT:
        _check_length(data, 5, "Completion")
        return CompletionMessage(invocation_id, error=_str(data, 4, "error"), headers=headers)
    raise ProtocolError(f"Invalid invocation result kind {result_kind}.")


def _parse_close(data: list[Any]) -> CloseMessage:
    _check_length(data, 2, "Close")
    error = data[1]
    if error is not None and not isinstance(error, str):
        raise ProtocolError("Expected the Close error to be a string or nil.")
    allow_reconnect = data[2] if len(data) > 2 else None
    if allow_reconnect is not None and not isinstance(allow_reconnect, bool):
        raise ProtocolError("Expected 'allowReconnect' to be a boolean.")
    return CloseMessage(error=error or None, allow_reconnect=allow_reconnect is True)


# Plain int keys: a dict lookup is much cheaper than comparing against IntEnum members.
_PARSERS: dict[int, Callable[[list[Any]], HubMessage]] = {
    MessageType.INVOCATION.value: _parse_invocation,
    MessageType.STREAM_ITEM.value: _parse_stream_item,
    MessageType.COMPLETION.value: _parse_completion,
    MessageType.STREAM_INVOCATION.value: _parse_stream_invocation,
    MessageType.CANCEL_INVOCATION.value: _parse_cancel,
    MessageType.PING.value: _parse_ping,
    MessageType.CLOSE.value: _parse_close,
    MessageType.ACK.value: _parse_ack,
    MessageType.SEQUENCE.value: _parse_sequence,
}


def _check_length(data: list[Any], minimum: int, name: str) -> None:
    if len(data) < minimum:
        raise ProtocolError(
            f"Invalid payload for {name} message: expected at least {minimum} elements, "
            f"got {len(data)}."
        )


def _str(data: list[Any], index: int, name: str) -> str:
    value = data[index]
    if not isinstance(value, str):
        raise ProtocolError(f"Expected '{name}' to be a string.")
    return value


def _optional_id(value: Any) -> str | None:
    # nil and "" both mean "non-blocking", as in ASP.NET Core.
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProtocolError("Expected 'invocationId' to be a string or nil.")
    return value


def _list(data: list[Any], index: int, name: str) -> list[Any]:
    value = data[index]
    if not isinstance(value, list):
        raise ProtocolError(f"Expected '{name}' to be an array.")
    return value


def _stream_ids(data: list[Any]) -> tuple[str, ...]:
    value = data[5] if len(data) > 5 else None
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProtocolError("Expected 'streamIds' to be an array of strings.")
    return tuple(value)


def _headers(value: Any) -> Headers | None:
    # nil is tolerated like JSON's null; the usual empty map also becomes None.
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise ProtocolError("Expected 'headers' to be a map of strings.")
    return value or None


def _sequence_id(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ProtocolError("Expected 'sequenceId' to be a non-negative integer.")
    return value


def _headers_out(headers: Headers | None) -> Any:
    if not headers:
        return _NO_HEADERS
    return headers if type(headers) is dict else dict(headers)


def _to_array(message: HubMessage) -> list[Any]:
    """The MessagePack array for an outgoing message (Ping is handled by the caller)."""
    if isinstance(message, InvocationMessage):
        return [
            1,
            _headers_out(message.headers),
            message.invocation_id or None,
            message.target,
            message.arguments,
            message.stream_ids,
        ]
    if isinstance(message, StreamItemMessage):
        return [2, _headers_out(message.headers), message.invocation_id, message.item]
    if isinstance(message, CompletionMessage):
        headers = _headers_out(message.headers)
        if message.error is not None:
            return [3, headers, message.invocation_id, _ERROR_RESULT, message.error]
        if message.has_result:
            return [3, headers, message.invocation_id, _NON_VOID_RESULT, message.result]
        return [3, headers, message.invocation_id, _VOID_RESULT]
    if isinstance(message, StreamInvocationMessage):
        return [
            4,
            _headers_out(message.headers),
            message.invocation_id,
            message.target,
            message.arguments,
            message.stream_ids,
        ]
    if isinstance(message, CancelInvocationMessage):
        return [5, _headers_out(message.headers), message.invocation_id]
    if isinstance(message, CloseMessage):
        return [7, message.error, message.allow_reconnect]
    if isinstance(message, AckMessage):
        return [8, message.sequence_id]
    if isinstance(message, SequenceMessage):
        return [9, message.sequence_id]
    raise TypeError(f"Not a hub message: {type(message).__name__}.")
