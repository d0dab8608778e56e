"""Broadcasts encode a message once per wire format, however many recipients there are."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import EnvironBuilder

from flask_signalr.lifetime.memory import MemoryHubLifetimeManager
from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.json import JsonHubProtocol
from flask_signalr.protocol.messages import HubMessage, InvocationMessage
from flask_signalr.protocol.msgpack import MessagePackHubProtocol
from flask_signalr.server.connection import ConnectionState, HubConnection
from flask_signalr.server.scope import RequestScope


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


def counting(protocol_class: type[HubProtocol]) -> Any:
    class Counting(protocol_class):  # type: ignore[valid-type, misc]
        writes = 0

        def write_message(self, message: HubMessage) -> bytes:
            type(self).writes += 1
            return super().write_message(message)

    return Counting()


def connect_many(
    manager: MemoryHubLifetimeManager, protocols: list[Any], count: int
) -> list[HubConnection]:
    scope = RequestScope(Flask(__name__), EnvironBuilder().get_environ(), None, None)
    connections = []
    for index in range(count):
        connection = HubConnection(f"c{index}", CollectingTransport(), scope, None, 1)
        connection.start_protocol(protocols[index % len(protocols)])
        connection.state = ConnectionState.CONNECTED
        manager.on_connected(connection)
        connections.append(connection)
    return connections


def test_send_all_to_1000_connections_serializes_once() -> None:
    manager = MemoryHubLifetimeManager()
    json = counting(JsonHubProtocol)
    connections = connect_many(manager, [json], 1000)
    json_writes_before = type(json).writes
    manager.send_all(InvocationMessage("update", [{"votes": 3}]))
    assert type(json).writes - json_writes_before == 1
    delivered = {connection.transport.chunks[-1] for connection in connections}  # type: ignore[attr-defined]
    assert delivered == {b'{"type":1,"target":"update","arguments":[{"votes":3}]}\x1e'}


def test_mixed_protocols_serialize_once_per_protocol() -> None:
    manager = MemoryHubLifetimeManager()
    json, msgpack = counting(JsonHubProtocol), counting(MessagePackHubProtocol)
    connections = connect_many(manager, [json, msgpack], 1000)
    before = (type(json).writes, type(msgpack).writes)
    for index in range(0, 1000, 5):  # both protocols among members
        manager.add_to_group(f"c{index}", "fifth")
    manager.send_group("fifth", InvocationMessage("update", [1]))
    manager.send_all_except(InvocationMessage("update", [2]), ["c0"])
    assert (type(json).writes - before[0], type(msgpack).writes - before[1]) == (2, 2)
    assert len(connections[0].transport.chunks) == 1  # type: ignore[attr-defined]  # group only
    assert len(connections[1].transport.chunks) == 1  # type: ignore[attr-defined]  # all_except only
