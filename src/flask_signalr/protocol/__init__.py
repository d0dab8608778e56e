"""Sans-IO SignalR protocol: message model, framing, handshake and codecs.

Nothing in this package performs I/O or imports flask, gevent, redis or socket; a test enforces
it. Transports feed it bytes and write the bytes it returns.
"""

from __future__ import annotations

from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.json import JsonHubProtocol
from flask_signalr.protocol.msgpack import MessagePackHubProtocol

__all__ = [
    "HubProtocol",
    "JsonHubProtocol",
    "MessagePackHubProtocol",
    "TransferFormat",
    "protocols_by_name",
]


def protocols_by_name(names: tuple[str, ...]) -> dict[str, HubProtocol]:
    """The codec instances for the enabled protocol names, keyed by handshake name."""
    available: dict[str, HubProtocol] = {
        "json": JsonHubProtocol(),
        "messagepack": MessagePackHubProtocol(),
    }
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"Unknown hub protocol(s) {unknown}; available: {sorted(available)}.")
    return {name: available[name] for name in names}
