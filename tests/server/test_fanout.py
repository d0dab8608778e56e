"""Broadcasts encode a message once per wire format, however many recipients there are."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from flask_signalr.lifetime.memory import MemoryHubLifetimeManager
from flask_signalr.protocol.base import HubProtocol
from flask_signalr.protocol.json import JsonHubProtocol
from flask_signalr.protocol.messages import HubMessage, InvocationMessage
from flask_signalr.protocol.msgpack import MessagePackHubProtocol
from flask_signalr.server.connection import ConnectionState, HubConnection
from flask_signalr.server.scope import RequestScope

from support.memory_clients import CollectingTransport


def counting(protocol_class: type[HubProtocol]) -> Any:
    class Counting(protocol_class):  # type: ignore[valid-type, misc]
        writes = 0

        def write_message(self, message: HubMessage) -> bytes:
            type(self).writes += 1
            return super().write_message(message)

    return Counting()


def connect_many(
    manager: MemoryHubLifetimeManager, protocols: list[Any], count: int, first_id: int = 0
) -> list[HubConnection]:
    scope = RequestScope(Flask(__name__), EnvironBuilder().get_environ(), None, None)
    connections = []
    for index in range(first_id, first_id + count):
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
    manager.flush()
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
    manager.flush()
    assert (type(json).writes - before[0], type(msgpack).writes - before[1]) == (2, 2)
    assert len(connections[0].transport.chunks) == 1  # type: ignore[attr-defined]  # group only
    assert len(connections[1].transport.chunks) == 1  # type: ignore[attr-defined]  # all_except only


def test_a_burst_of_broadcasts_leaves_as_one_write_per_connection() -> None:
    manager = MemoryHubLifetimeManager()
    connections = connect_many(manager, [JsonHubProtocol()], 3)
    for number in range(50):
        manager.send_all(InvocationMessage("tick", [number]))
    assert all(not c.transport.chunks for c in connections)  # type: ignore[attr-defined]
    manager.flush()
    for connection in connections:
        (chunk,) = connection.transport.chunks  # type: ignore[attr-defined]
        records = chunk.split(b"\x1e")[:-1]
        assert [r for r in records] == [
            b'{"type":1,"target":"tick","arguments":[%d]}' % n for n in range(50)
        ]


def test_order_is_kept_when_a_direct_send_comes_between_broadcasts() -> None:
    manager = MemoryHubLifetimeManager()
    first, second = connect_many(manager, [JsonHubProtocol()], 2)
    manager.send_all(InvocationMessage("a", []))
    manager.send_connection("c0", InvocationMessage("direct", []))
    manager.send_all(InvocationMessage("b", []))
    manager.flush()
    targets = [
        [m.target for m in JsonHubProtocol().parse_messages(b"".join(c.transport.chunks), 0)[0]]  # type: ignore[attr-defined,union-attr]
        for c in (first, second)
    ]
    assert targets == [["a", "direct", "b"], ["a", "b"]]


def test_a_connection_joining_mid_burst_gets_only_later_broadcasts() -> None:
    manager = MemoryHubLifetimeManager()
    (early,) = connect_many(manager, [JsonHubProtocol()], 1)
    manager.send_all(InvocationMessage("before", []))
    (late,) = connect_many(manager, [JsonHubProtocol()], 1, first_id=1)
    manager.send_all(InvocationMessage("after", []))
    manager.flush()
    parse = JsonHubProtocol().parse_messages
    assert [m.target for m in parse(b"".join(early.transport.chunks), 0)[0]] == ["before", "after"]  # type: ignore[attr-defined,union-attr]
    assert [m.target for m in parse(b"".join(late.transport.chunks), 0)[0]] == ["after"]  # type: ignore[attr-defined,union-attr]


def test_an_unencodable_broadcast_raises_in_the_sender() -> None:
    manager = MemoryHubLifetimeManager()
    connect_many(manager, [JsonHubProtocol()], 2)
    with pytest.raises(ValueError):
        manager.send_all(InvocationMessage("bad", [float("nan")]))
