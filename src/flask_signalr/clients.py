"""Client proxies: ``self.clients.all``, ``.group(name)``, ... each forwarding to one manager verb.

A proxy is cheap to make (one bound callable) and does one thing: turn ``send("method", *args)``
into an Invocation message for its lifetime-manager verb. The caller-aware set
(:class:`HubCallerClients`) adds ``caller``, ``others`` and ``others_in_group`` for hub code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Generic

from typing_extensions import TypeVar

from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.messages import InvocationMessage

Deliver = Callable[[InvocationMessage], None]


class ClientProxy:
    """Sends to one set of clients. ``send`` never blocks and never fails for a gone client."""

    __slots__ = ("_deliver",)

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def send(self, method: str, *args: Any) -> None:
        """Invoke ``method`` on every client of this proxy, without waiting for anything."""
        if not isinstance(method, str) or not method:
            raise TypeError(f"method must be a non-empty string, got {method!r}.")
        self._deliver(InvocationMessage(method, args))


TClient = TypeVar("TClient", default=ClientProxy)


def flatten_ids(values: tuple[Any, ...]) -> tuple[str, ...]:
    """Accept ``f("a", "b")`` and ``f(["a", "b"])`` alike; every id must be a string."""
    if len(values) == 1 and isinstance(values[0], (list, tuple, set, frozenset)):
        values = tuple(values[0])
    for value in values:
        if not isinstance(value, str):
            raise TypeError(
                f"Expected connection ids, user ids or group names as str, got {value!r}."
            )
    return values


class HubClients(Generic[TClient]):
    """Every way to address clients of one hub (ASP.NET's ``IHubClients``)."""

    __slots__ = ("_manager",)

    def __init__(self, manager: HubLifetimeManager) -> None:
        self._manager = manager

    def _proxy(self, deliver: Deliver) -> TClient:
        return ClientProxy(deliver)  # type: ignore[return-value]

    @property
    def all(self) -> TClient:
        return self._proxy(self._manager.send_all)

    def all_except(self, *connection_ids: Any) -> TClient:
        excluded = flatten_ids(connection_ids)
        return self._proxy(lambda message: self._manager.send_all_except(message, excluded))

    def client(self, connection_id: str) -> TClient:
        return self._proxy(partial(self._manager.send_connection, _id(connection_id)))

    def clients(self, *connection_ids: Any) -> TClient:
        return self._proxy(partial(self._manager.send_connections, flatten_ids(connection_ids)))

    def group(self, group_name: str) -> TClient:
        return self._proxy(partial(self._manager.send_group, _id(group_name)))

    def groups(self, *group_names: Any) -> TClient:
        return self._proxy(partial(self._manager.send_groups, flatten_ids(group_names)))

    def group_except(self, group_name: str, *connection_ids: Any) -> TClient:
        group, excluded = _id(group_name), flatten_ids(connection_ids)
        return self._proxy(
            lambda message: self._manager.send_group_except(group, message, excluded)
        )

    def user(self, user_id: str) -> TClient:
        return self._proxy(partial(self._manager.send_user, _id(user_id)))

    def users(self, *user_ids: Any) -> TClient:
        return self._proxy(partial(self._manager.send_users, flatten_ids(user_ids)))


class HubCallerClients(HubClients[TClient]):
    """:class:`HubClients` plus the targets relative to the calling connection."""

    __slots__ = ("_caller_id",)

    def __init__(self, manager: HubLifetimeManager, caller_id: str) -> None:
        super().__init__(manager)
        self._caller_id = caller_id

    @property
    def caller(self) -> TClient:
        return self.client(self._caller_id)

    @property
    def others(self) -> TClient:
        return self.all_except(self._caller_id)

    def others_in_group(self, group_name: str) -> TClient:
        return self.group_except(group_name, self._caller_id)


class GroupManager:
    """``self.groups``: add or remove any connection (not just the caller) to or from a group."""

    __slots__ = ("_manager",)

    def __init__(self, manager: HubLifetimeManager) -> None:
        self._manager = manager

    def add(self, connection_id: str, group_name: str) -> None:
        self._manager.add_to_group(_id(connection_id), _id(group_name))

    def remove(self, connection_id: str, group_name: str) -> None:
        self._manager.remove_from_group(_id(connection_id), _id(group_name))


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"Expected a non-empty str id or group name, got {value!r}.")
    return value
