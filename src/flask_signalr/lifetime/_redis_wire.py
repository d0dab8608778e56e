"""What the Redis backplane puts on the bus: channel names and payloads. No I/O here.

Every payload is a MessagePack array. Messages for clients travel already encoded, one record
per hub protocol, so receiving nodes only copy bytes to sockets. Channel names all come from
:class:`Channels`, so the server, external publishers and tests agree on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack  # type: ignore[import-untyped, unused-ignore]

from flask_signalr.protocol.errors import ProtocolError


@dataclass(frozen=True)
class Channels:
    """Channel names of one hub: ``{prefix}:{hub}:{kind}[:{name}]``."""

    prefix: str
    hub: str

    def _name(self, *parts: str) -> str:
        return ":".join((self.prefix, self.hub, *parts))

    @property
    def all(self) -> str:
        return self._name("all")

    def connection(self, connection_id: str) -> str:
        return self._name("connection", connection_id)

    def user(self, user_id: str) -> str:
        return self._name("user", user_id)

    def group(self, group: str) -> str:
        return self._name("group", group)

    @property
    def group_management(self) -> str:
        return self._name("internal", "groups")

    def ack(self, server_id: str) -> str:
        return self._name("internal", "ack", server_id)

    def results(self, server_id: str) -> str:
        return self._name("internal", "return", server_id)

    def parse(self, channel: str) -> tuple[str, str]:
        """``(kind, name)`` of one of this hub's channels, e.g. ``("group", "orange")``."""
        base = self._name("")
        kind, _, name = channel[len(base) :].partition(":")
        return kind, name


@dataclass(frozen=True)
class Delivery:
    """A hub message for clients: who sent it, whom to skip, its encodings."""

    server_id: str
    records: Mapping[str, bytes]
    excluded: Sequence[str] = ()
    #: For sends to several groups: every group named, so a node subscribed to two of them
    #: delivers once (``message_id`` identifies the copies).
    groups: Sequence[str] = ()
    message_id: str = ""
    #: Set for a client-result invocation: the id the client must answer.
    invocation_id: str = ""


@dataclass(frozen=True)
class GroupCommand:
    """Add a connection held by another node to a group, or remove it."""

    server_id: str
    add: bool
    connection_id: str
    group: str
    ack_id: str


@dataclass(frozen=True)
class ResultReturn:
    """A client's answer to a client-result invocation, sent back to the asking node."""

    invocation_id: str
    error: str | None = None
    result: Any = None
    #: The client went away before answering (the asker raises ConnectionLostError).
    connection_lost: bool = False


def _pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True, datetime=True)  # type: ignore[no-any-return]


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, timestamp=3, strict_map_key=False)
    except Exception as exc:  # noqa: BLE001 - msgpack raises many types for garbage
        raise ProtocolError(f"Unreadable backplane message: {exc}") from None


def encode_delivery(delivery: Delivery) -> bytes:
    return _pack(
        [
            "d",
            delivery.server_id,
            dict(delivery.records),
            list(delivery.excluded),
            list(delivery.groups),
            delivery.message_id,
            delivery.invocation_id,
        ]
    )


def encode_group_command(command: GroupCommand) -> bytes:
    return _pack(
        ["g", command.server_id, command.add, command.connection_id, command.group, command.ack_id]
    )


def encode_ack(ack_id: str) -> bytes:
    return _pack(["a", ack_id])


def encode_result(result: ResultReturn) -> bytes:
    return _pack(["r", result.invocation_id, result.error, result.result, result.connection_lost])


def encode_batch(payloads: list[bytes]) -> bytes:
    """Several payloads for one channel as one Redis message (decoded back in order)."""
    return _pack(["b", payloads])


BusMessage = Delivery | GroupCommand | str | ResultReturn


def decode_all(data: bytes) -> list[BusMessage]:
    """Every message a bus payload carries (one, or a batch); an ack decodes to its id."""
    payload = _unpack(data)
    if isinstance(payload, list) and payload[:1] == ["b"] and len(payload) == 2:
        return [_decode_one(_unpack(item)) for item in payload[1]]
    return [_decode_one(payload)]


def _decode_one(payload: Any) -> BusMessage:
    try:
        kind = payload[0]
        if kind == "d":
            _, server_id, records, excluded, groups, message_id, invocation_id = payload
            return Delivery(server_id, records, excluded, groups, message_id, invocation_id)
        if kind == "g":
            _, server_id, add, connection_id, group, ack_id = payload
            return GroupCommand(server_id, add, connection_id, group, ack_id)
        if kind == "a":
            return str(payload[1])
        if kind == "r":
            _, invocation_id, error, result, lost = payload
            return ResultReturn(invocation_id, error, result, lost)
    except (TypeError, ValueError, IndexError):
        pass
    raise ProtocolError("Malformed backplane message.")
