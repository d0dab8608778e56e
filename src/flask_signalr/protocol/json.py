"""The ``json`` hub protocol: UTF-8 JSON objects terminated by 0x1E.

Outgoing messages omit absent optional fields (a ``"invocationId": null`` makes the JavaScript
client drop the connection); incoming messages are validated field by field and may carry
``null`` optionals, which the Python clients send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask_signalr.protocol import framing
from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.errors import ProtocolError
from flask_signalr.protocol.messages import (
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    MessageType,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from flask_signalr.protocol.values import to_plain

_encoder = json.JSONEncoder(
    separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=to_plain
)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON with the shared value rules (see :mod:`.values`)."""
    return _encoder.encode(value).encode("utf-8")


class JsonHubProtocol(HubProtocol):
    """Codec for ``{"protocol":"json"}`` connections."""

    name = "json"
    version = 2
    transfer_format = TransferFormat.TEXT

    def split_records(self, buffer: bytes, max_record_size: int) -> tuple[list[bytes], bytes]:
        return framing.split_text_records(buffer, max_record_size)

    def parse_record(self, record: bytes) -> HubMessage | None:
        try:
            data = _loads(record)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
            raise ProtocolError(f"Error reading JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ProtocolError("Unexpected JSON Token Type. Expected a JSON Object.")
        return _parse_object(data)

    def write_message(self, message: HubMessage) -> bytes:
        # The two messages every call and broadcast produce, written without a dict.
        kind = type(message)
        if kind is CompletionMessage and _plain_result(message):
            return b'{"type":3,"invocationId":%s,"result":%s}\x1e' % (
                dumps(message.invocation_id),  # type: ignore[union-attr]
                dumps(message.result),  # type: ignore[union-attr]
            )
        if kind is InvocationMessage and _plain_send(message):
            return b'{"type":1,"target":%s,"arguments":%s}\x1e' % (
                dumps(message.target),  # type: ignore[union-attr]
                dumps(message.arguments),  # type: ignore[union-attr]
            )
        return framing.write_text_record(dumps(_to_object(message)))


def _plain_result(message: Any) -> bool:
    return message.headers is None and message.error is None and bool(message.has_result)


def _plain_send(message: Any) -> bool:
    return not (message.headers or message.stream_ids or message.invocation_id)


#: The C scanner behind json.loads, called directly (typeshed does not declare it).
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_whitespace = re.compile(r"[ \t\n\r]*")


def _loads(record: bytes) -> Any:
    """``json.loads`` for one UTF-8 record, without its encoding detection and wrappers."""
    text = record.decode("utf-8")
    start = _whitespace.match(text).end()  # type: ignore[union-attr]
    try:
        value, end = _scan_once(text, start)
    except StopIteration as stop:
        raise ValueError(f"Expecting value: char {stop.value}") from None
    if _whitespace.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise ValueError(f"Extra data: char {end}")
    return value


def _parse_object(data: dict[str, Any]) -> HubMessage | None:
    kind = data.get("type")
    if kind is None:
        raise ProtocolError("Missing required property 'type'.")
    if not isinstance(kind, int) or isinstance(kind, bool):
        raise ProtocolError("Expected 'type' to be of type Integer.")
    headers = _optional_headers(data)
    if kind == MessageType.INVOCATION:
        return InvocationMessage(
            target=_required_str(data, "target"),
            arguments=_required_list(data, "arguments"),
            invocation_id=_optional_str(data, "invocationId"),
            stream_ids=_stream_ids(data),
            headers=headers,
        )
    if kind == MessageType.STREAM_INVOCATION:
        return StreamInvocationMessage(
            invocation_id=_required_str(data, "invocationId"),
            target=_required_str(data, "target"),
            arguments=_required_list(data, "arguments"),
            stream_ids=_stream_ids(data),
            headers=headers,
        )
    if kind == MessageType.STREAM_ITEM:
        return StreamItemMessage(
            invocation_id=_required_str(data, "invocationId"),
            item=data.get("item"),
            headers=headers,
        )
    if kind == MessageType.COMPLETION:
        return _parse_completion(data, headers)
    if kind == MessageType.CANCEL_INVOCATION:
        return CancelInvocationMessage(_required_str(data, "invocationId"), headers)
    if kind == MessageType.PING:
        return PingMessage()
    if kind == MessageType.CLOSE:
        return CloseMessage(
            error=_optional_str(data, "error"),
            allow_reconnect=data.get("allowReconnect") is True,
        )
    if kind == MessageType.ACK:
        return AckMessage(_required_int(data, "sequenceId"))
    if kind == MessageType.SEQUENCE:
        return SequenceMessage(_required_int(data, "sequenceId"))
    return None  # unknown types are ignored for forward compatibility


def _parse_completion(data: dict[str, Any], headers: dict[str, str] | None) -> CompletionMessage:
    invocation_id = _required_str(data, "invocationId")
    error = data.get("error")
    if error is not None:
        if not isinstance(error, str):
            raise ProtocolError("Expected 'error' to be of type String.")
        # pysignalr writes both keys, one of them null; only a non-null error means failure.
        return CompletionMessage(invocation_id, error=error, headers=headers)
    if "result" in data:
        return CompletionMessage(
            invocation_id, result=data["result"], has_result=True, headers=headers
        )
    return CompletionMessage(invocation_id, headers=headers)


def _required_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        raise ProtocolError(f"Missing required property '{key}'.")
    if not isinstance(value, str):
        raise ProtocolError(f"Expected '{key}' to be of type String.")
    return value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"Expected '{key}' to be of type String.")
    return value


def _required_int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"Missing required property '{key}'.")
    return value


def _required_list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        raise ProtocolError(f"Missing required property '{key}'.")
    if not isinstance(value, list):
        raise ProtocolError(f"Expected '{key}' to be of type Array.")
    return value


def _stream_ids(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("streamIds")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProtocolError("Expected 'streamIds' to be an array of strings.")
    return tuple(value)


def _optional_headers(data: dict[str, Any]) -> dict[str, str] | None:
    value = data.get("headers")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ProtocolError("Expected 'headers' to be an object of strings.")
    return value


def _to_object(message: HubMessage) -> dict[str, Any]:
    """The JSON object for an outgoing message, with absent optionals left out."""
    if isinstance(message, InvocationMessage):
        obj: dict[str, Any] = {"type": 1}
        if message.invocation_id:  # never null or "": the JS client drops such a frame
            obj["invocationId"] = message.invocation_id
        obj["target"] = message.target
        obj["arguments"] = message.arguments
        if message.stream_ids:
            obj["streamIds"] = list(message.stream_ids)
    elif isinstance(message, StreamItemMessage):
        obj = {"type": 2, "invocationId": message.invocation_id, "item": message.item}
    elif isinstance(message, CompletionMessage):
        obj = {"type": 3, "invocationId": message.invocation_id}
        if message.error is not None:
            obj["error"] = message.error
        elif message.has_result:
            obj["result"] = message.result
    elif isinstance(message, StreamInvocationMessage):
        obj = {
            "type": 4,
            "invocationId": message.invocation_id,
            "target": message.target,
            "arguments": message.arguments,
        }
        if message.stream_ids:
            obj["streamIds"] = list(message.stream_ids)
    elif isinstance(message, CancelInvocationMessage):
        obj = {"type": 5, "invocationId": message.invocation_id}
    elif isinstance(message, PingMessage):
        return {"type": 6}
    elif isinstance(message, CloseMessage):
        obj = {"type": 7}
        if message.error is not None:
            obj["error"] = message.error
        if message.allow_reconnect:
            obj["allowReconnect"] = True
        return obj
    elif isinstance(message, AckMessage):
        return {"type": 8, "sequenceId": message.sequence_id}
    elif isinstance(message, SequenceMessage):
        return {"type": 9, "sequenceId": message.sequence_id}
    else:
        raise TypeError(f"Not a hub message: {type(message).__name__}.")
    if message.headers:
        obj["headers"] = dict(message.headers)
    return obj
