"""The scale-out seam: every way a hub can address clients, as one abstract class.

Hub proxies, hub contexts and hosted services talk only to this interface, so the in-memory
manager and the Redis backplane are interchangeable. The verbs mirror ASP.NET Core's
``HubLifetimeManager``.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from typing import Any

from flask_signalr.protocol.messages import InvocationMessage
from flask_signalr.server.connection import HubConnection


class HubLifetimeManager(abc.ABC):
    """Tracks a hub's connections, groups and users, and delivers messages to them."""

    @abc.abstractmethod
    def on_connected(self, connection: HubConnection) -> None:
        """Start tracking a connection whose handshake succeeded."""

    @abc.abstractmethod
    def on_disconnected(self, connection: HubConnection) -> None:
        """Forget a connection and remove it from every group."""

    @abc.abstractmethod
    def send_all(self, message: InvocationMessage) -> None: ...

    @abc.abstractmethod
    def send_all_except(self, message: InvocationMessage, excluded: Collection[str]) -> None: ...

    @abc.abstractmethod
    def send_connection(self, connection_id: str, message: InvocationMessage) -> None: ...

    @abc.abstractmethod
    def send_connections(
        self, connection_ids: Collection[str], message: InvocationMessage
    ) -> None: ...

    @abc.abstractmethod
    def send_group(self, group: str, message: InvocationMessage) -> None: ...

    @abc.abstractmethod
    def send_groups(self, groups: Collection[str], message: InvocationMessage) -> None: ...

    @abc.abstractmethod
    def send_group_except(
        self, group: str, message: InvocationMessage, excluded: Collection[str]
    ) -> None: ...

    @abc.abstractmethod
    def send_user(self, user_id: str, message: InvocationMessage) -> None: ...

    @abc.abstractmethod
    def send_users(self, user_ids: Collection[str], message: InvocationMessage) -> None: ...

    @abc.abstractmethod
    def add_to_group(self, connection_id: str, group: str) -> None: ...

    @abc.abstractmethod
    def remove_from_group(self, connection_id: str, group: str) -> None: ...

    @abc.abstractmethod
    def invoke_connection(
        self, connection_id: str, method: str, args: Sequence[Any], timeout: float
    ) -> Any:
        """Invoke ``method`` on one client and wait for its result (client results)."""

    @abc.abstractmethod
    def connection_count(self) -> int:
        """Connections this process holds for the hub (for diagnostics and tests)."""

    def flush(self) -> None:  # noqa: B027 - only managers that coalesce broadcasts override it
        """Send pending broadcasts now rather than at the end of this event-loop turn."""

    def wait_sent(self) -> None:  # noqa: B027 - only a backplane has anything to wait for
        """Wait until what this server sent so far has left for the other servers.

        Called before an invocation's answer goes out, so that when a client's ``invoke``
        returns, the messages the hub method sent are on their way everywhere (as an awaited
        ``SendAsync`` in ASP.NET). Bounded: never hangs a caller when the backplane is down.
        """

    def claim_connection_token(self, connection_id: str, lifetime: float) -> bool:
        """Record that a connection opened, cluster-wide; False if it already was.

        One process knows its own tokens, so the in-memory answer is always True.
        """
        return True

    def close(self) -> None:  # noqa: B027 - most managers hold nothing to release
        """Release what the manager holds (a backplane connection) when the server stops."""
