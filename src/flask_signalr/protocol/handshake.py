"""The handshake: the client's first record names a protocol and version; the server answers
``{}`` (or an error). Both sides are here: the server parses requests and writes responses, the
Python client writes requests and parses responses.

The handshake is always JSON terminated by 0x1E, whatever protocol it asks for, and the
MessagePack clients send it in a text or a binary WebSocket frame, so it is parsed from bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask_signalr.protocol import framing
from flask_signalr.protocol.errors import HandshakeError, ProtocolError

#: Text the client sees when the handshake is too large or does not arrive in time.
HANDSHAKE_CANCELED = "Handshake was canceled."


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """What the client asked for."""

    protocol: str
    version: int


def parse_handshake_request(buffer: bytes, max_size: int) -> tuple[HandshakeRequest | None, bytes]:
    """Read the handshake request off the front of ``buffer``.

    Returns ``(None, buffer)`` while the record is incomplete, otherwise the request and the
    bytes that followed it (hub messages may share the frame). Raises :class:`HandshakeError`
    with the text the client should see.
    """
    end = buffer.find(framing.RECORD_SEPARATOR)
    if end < 0:
        if max_size and len(buffer) > max_size:
            raise HandshakeError(HANDSHAKE_CANCELED)
        return None, buffer
    if max_size and end > max_size:
        raise HandshakeError(HANDSHAKE_CANCELED)
    record, rest = buffer[:end], buffer[end + 1 :]
    try:
        data = json.loads(record)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise HandshakeError("An unexpected error occurred during connection handshake.") from None
    if not isinstance(data, dict):
        raise HandshakeError("An unexpected error occurred during connection handshake.")
    protocol = data.get("protocol")
    version = data.get("version")
    if not isinstance(protocol, str):
        raise HandshakeError(
            "An unexpected error occurred during connection handshake. "
            "InvalidDataException: Missing required property 'protocol'."
        )
    if not isinstance(version, int) or isinstance(version, bool):
        raise HandshakeError(
            "An unexpected error occurred during connection handshake. "
            "InvalidDataException: Missing required property 'version'."
        )
    return HandshakeRequest(protocol, version), rest


def write_handshake_response(error: str | None = None) -> bytes:
    """``{}`` followed by 0x1E on success, ``{"error": ...}`` otherwise."""
    body = {"error": error} if error is not None else {}
    return framing.write_text_record(json.dumps(body, separators=(",", ":")).encode())


# -- the client side ----------------------------------------------------------------------


def write_handshake_request(protocol: str, version: int = 1) -> bytes:
    """``{"protocol":"json","version":1}`` followed by the record separator."""
    body = json.dumps({"protocol": protocol, "version": version}, separators=(",", ":"))
    return framing.write_text_record(body.encode())


@dataclass(frozen=True)
class HandshakeResponse:
    """The server's answer: ``error`` is set when it refused the handshake."""

    error: str | None


def parse_handshake_response(buffer: bytes) -> tuple[HandshakeResponse | None, bytes]:
    """Read the handshake response off the front of ``buffer``.

    Returns ``(None, buffer)`` while the record is incomplete, else the response and the bytes
    after it (hub messages may arrive in the same frame). Raises :class:`ProtocolError` when the
    first record is not a handshake response, as the JavaScript client does.
    """
    end = buffer.find(framing.RECORD_SEPARATOR)
    if end < 0:
        return None, buffer
    try:
        data = json.loads(buffer[:end])
    except ValueError:
        raise ProtocolError("Expected a handshake response from the server.") from None
    if not isinstance(data, dict) or "type" in data:
        raise ProtocolError("Expected a handshake response from the server.")
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        error = str(error)
    return HandshakeResponse(error), buffer[end + 1 :]
