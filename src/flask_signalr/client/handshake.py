"""The client side of the handshake: ask for a protocol, read the server's ``{}`` (or error).

:mod:`flask_signalr.protocol.handshake` holds the server side (parse the request, write the
response); these are its two mirror images. The handshake is always JSON followed by 0x1E,
whatever hub protocol it asks for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask_signalr.protocol import framing
from flask_signalr.protocol.errors import ProtocolError


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
