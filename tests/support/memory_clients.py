"""Connections without sockets, for testing lifetime managers through their real interface."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import EnvironBuilder

from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.json import JsonHubProtocol
from flask_signalr.protocol.messages import InvocationMessage
from flask_signalr.server.connection import ConnectionState, HubConnection
from flask_signalr.server.scope import RequestScope

_SCOPE = RequestScope(Flask("memory-clients"), EnvironBuilder().get_environ(), None, None)


class CollectingTransport:
    """Keeps what a connection sends, as a socket would receive it."""

    name = "Memory"
    supports_binary = True

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def output_kind(self, transfer_format: TransferFormat) -> str:
        return "memory"

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        return record

    def send(self, chunk: bytes) -> bool:
        self.chunks.append(chunk)
        return True

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class MemoryClient:
    """A connected client of a lifetime manager; ``received()`` lists its invocations."""

    def __init__(
        self,
        connection_id: str,
        user_id: str | None = None,
        protocol: HubProtocol | None = None,
    ) -> None:
        self.protocol = protocol or JsonHubProtocol()
        self.transport = CollectingTransport()
        self.connection = HubConnection(connection_id, self.transport, _SCOPE, user_id, 1)
        self.connection.start_protocol(self.protocol)
        self.connection.state = ConnectionState.CONNECTED

    @property
    def id(self) -> str:
        return self.connection.connection_id

    def received(self) -> list[tuple[str, list[Any], str | None]]:
        """(target, arguments, invocation id) of every invocation this client got."""
        messages, _ = self.protocol.parse_messages(b"".join(self.transport.chunks), 0)
        return [
            (m.target, list(m.arguments), m.invocation_id)
            for m in messages
            if isinstance(m, InvocationMessage)
        ]

    def targets(self) -> list[str]:
        return [target for target, _, _ in self.received()]
