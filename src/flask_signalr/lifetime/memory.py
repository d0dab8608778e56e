"""The in-memory lifetime manager: one process, no backplane.

Groups and users are indexed (name -> connections), so a group or user send touches only its
members, and a broadcast encodes its message once per wire format for all recipients.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from flask_signalr.errors import ConnectionLostError
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.base import HubProtocol
from flask_signalr.protocol.messages import InvocationMessage
from flask_signalr.server.batching import Broadcaster
from flask_signalr.server.connection import HubConnection
from flask_signalr.server.serialized import SerializedMessage


class MemoryHubLifetimeManager(HubLifetimeManager):
    """Delivers to connections held by this process."""

    def __init__(self) -> None:
        self._connections: dict[str, HubConnection] = {}
        #: protocol name -> (codec, connections using it): broadcasts are encoded for these.
        self._protocols: dict[str, tuple[HubProtocol, int]] = {}
        self._broadcaster = Broadcaster(
            self._connections.values, lambda: [codec for codec, _ in self._protocols.values()]
        )
        self._groups: dict[str, dict[str, HubConnection]] = {}
        self._users: dict[str, dict[str, HubConnection]] = {}

    # -- membership ----------------------------------------------------------------------------

    def on_connected(self, connection: HubConnection) -> None:
        self._connections[connection.connection_id] = connection
        protocol = connection.protocol
        _, users = self._protocols.get(protocol.name, (protocol, 0))
        self._protocols[protocol.name] = (protocol, users + 1)
        self._broadcaster.joined(connection)
        if connection.user_identifier is not None:
            self._users.setdefault(connection.user_identifier, {})[connection.connection_id] = (
                connection
            )

    def on_disconnected(self, connection: HubConnection) -> None:
        connection_id = connection.connection_id
        if self._connections.pop(connection_id, None) is not None:
            protocol, users = self._protocols[connection.protocol.name]
            if users > 1:
                self._protocols[protocol.name] = (protocol, users - 1)
            else:
                del self._protocols[protocol.name]
        for group in tuple(connection.groups):
            self._discard(self._groups, group, connection_id)
        connection.groups.clear()
        if connection.user_identifier is not None:
            self._discard(self._users, connection.user_identifier, connection_id)

    def add_to_group(self, connection_id: str, group: str) -> None:
        connection = self._connections.get(connection_id)
        if connection is None:
            return  # departed or unknown: nothing to add, as in ASP.NET
        self._groups.setdefault(group, {})[connection_id] = connection
        connection.groups.add(group)

    def remove_from_group(self, connection_id: str, group: str) -> None:
        connection = self._connections.get(connection_id)
        if connection is not None:
            connection.groups.discard(group)
        self._discard(self._groups, group, connection_id)

    def connection_count(self) -> int:
        return len(self._connections)

    def get_connection(self, connection_id: str) -> HubConnection | None:
        """The local connection with this id, if this process holds it."""
        return self._connections.get(connection_id)

    def group_names(self) -> list[str]:
        """Groups that currently have at least one member."""
        return list(self._groups)

    @staticmethod
    def _discard(index: dict[str, dict[str, HubConnection]], key: str, connection_id: str) -> None:
        members = index.get(key)
        if members is not None:
            members.pop(connection_id, None)
            if not members:
                del index[key]  # keep the index as small as the live membership

    # -- delivery ------------------------------------------------------------------------------

    def send_all(self, message: InvocationMessage) -> None:
        self.deliver_all(SerializedMessage(message))

    def send_all_except(self, message: InvocationMessage, excluded: Collection[str]) -> None:
        self.deliver_all(SerializedMessage(message), excluded)

    def send_connection(self, connection_id: str, message: InvocationMessage) -> None:
        connection = self._connections.get(connection_id)
        if connection is not None:
            connection.send_message(message)

    def send_connections(self, connection_ids: Collection[str], message: InvocationMessage) -> None:
        self.deliver_connections(connection_ids, SerializedMessage(message))

    def send_group(self, group: str, message: InvocationMessage) -> None:
        self.deliver_groups((group,), SerializedMessage(message))

    def send_groups(self, groups: Collection[str], message: InvocationMessage) -> None:
        self.deliver_groups(groups, SerializedMessage(message))

    def send_group_except(
        self, group: str, message: InvocationMessage, excluded: Collection[str]
    ) -> None:
        self.deliver_groups((group,), SerializedMessage(message), excluded)

    def send_user(self, user_id: str, message: InvocationMessage) -> None:
        self.deliver_users((user_id,), SerializedMessage(message))

    def send_users(self, user_ids: Collection[str], message: InvocationMessage) -> None:
        self.deliver_users(user_ids, SerializedMessage(message))

    # The deliver_* verbs take an already wrapped message, so a backplane can hand over
    # messages that arrived encoded and deliver its own sends with the encodings it publishes.

    def deliver_all(self, message: SerializedMessage, excluded: Collection[str] = ()) -> None:
        if excluded:
            _deliver(self._connections.values(), message, excluded)
        else:
            self._broadcaster.broadcast(message)

    def flush(self) -> None:
        """Send pending broadcasts now instead of at the end of this event-loop turn."""
        self._broadcaster.flush()

    def deliver_connections(
        self, connection_ids: Iterable[str], message: SerializedMessage
    ) -> None:
        _deliver(self._pick(self._connections, connection_ids), message)

    def deliver_groups(
        self, groups: Iterable[str], message: SerializedMessage, excluded: Collection[str] = ()
    ) -> None:
        _deliver(self._union(self._groups, groups), message, excluded)

    def deliver_users(
        self, user_ids: Iterable[str], message: SerializedMessage, excluded: Collection[str] = ()
    ) -> None:
        _deliver(self._union(self._users, user_ids), message, excluded)

    def has_group(self, group: str) -> bool:
        """Whether any local connection is in ``group``."""
        return group in self._groups

    def has_user(self, user_id: str) -> bool:
        """Whether any local connection belongs to ``user_id``."""
        return user_id in self._users

    def invoke_connection(
        self, connection_id: str, method: str, args: Sequence[Any], timeout: float
    ) -> Any:
        connection = self._connections.get(connection_id)
        if connection is None:
            raise ConnectionLostError(f"Connection '{connection_id}' does not exist.")
        return connection.client_results.invoke(connection, method, args, timeout)

    @staticmethod
    def _pick(connections: dict[str, HubConnection], ids: Iterable[str]) -> list[HubConnection]:
        found = (connections.get(connection_id) for connection_id in dict.fromkeys(ids))
        return [connection for connection in found if connection is not None]

    @staticmethod
    def _union(
        index: dict[str, dict[str, HubConnection]], keys: Iterable[str]
    ) -> list[HubConnection]:
        """Members of several groups (or users), each connection once."""
        members: dict[str, HubConnection] = {}
        for key in keys:
            members.update(index.get(key, {}))
        return list(members.values())


def _deliver(
    connections: Iterable[HubConnection],
    message: SerializedMessage,
    excluded: Collection[str] = (),
) -> None:
    """Send one message to many connections; it is encoded once per wire format."""
    excluded_ids = frozenset(excluded)
    # A snapshot: sending never switches greenlets, but an overflow abort must not be able to
    # change the dictionary being walked.
    for connection in tuple(connections):
        if connection.connection_id not in excluded_ids:
            connection.send_serialized(message)
