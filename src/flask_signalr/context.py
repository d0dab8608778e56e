"""What a hub sees of the connection that called it (ASP.NET's ``HubCallerContext``)."""

from __future__ import annotations

from typing import Any

from flask_signalr._concurrency import Event
from flask_signalr.protocol.messages import CloseMessage
from flask_signalr.server.connection import HubConnection


class HubCallerContext:
    """Identity and per-connection state of the caller, valid for the connection's lifetime."""

    __slots__ = ("_connection",)

    def __init__(self, connection: HubConnection) -> None:
        self._connection = connection

    @property
    def connection_id(self) -> str:
        """The public id other code uses to address this connection."""
        return self._connection.connection_id

    @property
    def user_identifier(self) -> str | None:
        """The user's id (``user.get_id()`` by default) or None when anonymous."""
        return self._connection.user_identifier

    @property
    def user(self) -> Any:
        """The flask-login user loaded when the connection opened, or an anonymous user."""
        return self._connection.user

    @property
    def items(self) -> dict[Any, Any]:
        """A dict that lives as long as the connection: the place for per-connection state."""
        return self._connection.items

    @property
    def connection_aborted(self) -> Event:
        """Set when the connection ends; wait on it or check ``is_set()`` in long work."""
        return self._connection.aborted

    @property
    def transport(self) -> str:
        """The transport in use ("WebSockets", ...)."""
        return self._connection.transport.name

    def abort(self) -> None:
        """Close the connection from the server; the client is told not to reconnect."""
        self._connection.close(CloseMessage())
