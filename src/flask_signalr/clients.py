"""Client proxies: ``self.clients.all``, ``.group(name)``, ... each forwarding to one manager verb.

A proxy is cheap to make (one bound callable) and does one thing: turn ``send("method", *args)``
into an Invocation message for its lifetime-manager verb. The caller-aware set
(:class:`HubCallerClients`) adds ``caller``, ``others`` and ``others_in_group`` for hub code.

Strongly typed hubs (``Hub[ClientProtocol]``) get the same proxies: a method of the protocol is
sent with the camelCase of its name (or its ``@client_method`` name), and one with a non-None
return annotation is a client result (``invoke``), allowed on single-client proxies only.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic

from typing_extensions import TypeVar

from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.messages import InvocationMessage

Deliver = Callable[[InvocationMessage], None]
Invoke = Callable[[str, Sequence[Any], float], Any]

#: Seconds ``invoke`` waits for a client's answer by default.
DEFAULT_INVOKE_TIMEOUT = 30.0

_WIRE_NAME_ATTRIBUTE = "__signalr_name__"


@dataclass(frozen=True)
class ClientMethod:
    """How a typed client method goes over the wire."""

    wire_name: str
    returns_value: bool


ClientSpec = Mapping[str, ClientMethod]


class ClientProxy:
    """Sends to one set of clients. ``send`` never blocks and never fails for a gone client."""

    __slots__ = ("_deliver", "_invoke", "_spec")

    def __init__(
        self, deliver: Deliver, invoke: Invoke | None = None, spec: ClientSpec | None = None
    ) -> None:
        self._deliver = deliver
        self._invoke = invoke
        self._spec = spec

    def send(self, method: str, *args: Any) -> None:
        """Invoke ``method`` on every client of this proxy, without waiting for anything."""
        if not isinstance(method, str) or not method:
            raise TypeError(f"method must be a non-empty string, got {method!r}.")
        self._deliver(InvocationMessage(method, args))

    def invoke(self, method: str, *args: Any, timeout: float = DEFAULT_INVOKE_TIMEOUT) -> Any:
        """Invoke ``method`` on the one client of this proxy and return its result.

        Blocks the calling greenlet. Raises :class:`~flask_signalr.HubException` if the client
        answers with an error, :class:`TimeoutError` after ``timeout`` seconds and
        :class:`~flask_signalr.errors.ConnectionLostError` if the client is or goes away.
        """
        if self._invoke is None:
            raise TypeError(
                "invoke() needs exactly one client: use clients.client(connection_id) or "
                "clients.caller."
            )
        if not isinstance(method, str) or not method:
            raise TypeError(f"method must be a non-empty string, got {method!r}.")
        return self._invoke(method, args, timeout)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = self._spec.get(name) if self._spec is not None else None
        if method is None:
            raise AttributeError(
                f'Client proxies have no method {name!r}: use send("Name", ...) or declare it '
                "on the hub's client Protocol (class MyHub(Hub[MyClient]))."
            )
        if method.returns_value:
            return partial(self._typed_invoke, method.wire_name)
        return partial(self.send, method.wire_name)

    def _typed_invoke(
        self, wire_name: str, *args: Any, timeout: float = DEFAULT_INVOKE_TIMEOUT
    ) -> Any:
        return self.invoke(wire_name, *args, timeout=timeout)


def client_method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a client Protocol method an exact wire name (``@client_method("ReceiveMessage")``)."""
    if not isinstance(name, str) or not name:
        raise TypeError("client_method() needs the wire name as a non-empty string.")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, _WIRE_NAME_ATTRIBUTE, name)
        return function

    return decorate


def camel_case(name: str) -> str:
    """``update_votes`` -> ``updateVotes``; names without underscores are kept as they are."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def client_spec(client_protocol: type) -> dict[str, ClientMethod]:
    """The wire names and kinds of a client Protocol's methods, computed once per hub."""
    spec = {}
    for name, function in inspect.getmembers(client_protocol, inspect.isfunction):
        if name.startswith("_"):
            continue
        wire_name = getattr(function, _WIRE_NAME_ATTRIBUTE, None) or camel_case(name)
        returned = typing.get_type_hints(function).get("return", type(None))
        spec[name] = ClientMethod(wire_name, returned is not type(None))
    return spec


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

    __slots__ = ("_manager", "_spec")

    def __init__(self, manager: HubLifetimeManager, spec: ClientSpec | None = None) -> None:
        self._manager = manager
        self._spec = spec

    def _proxy(self, deliver: Deliver, invoke: Invoke | None = None) -> TClient:
        return ClientProxy(deliver, invoke, self._spec)  # type: ignore[return-value]

    @property
    def all(self) -> TClient:
        return self._proxy(self._manager.send_all)

    def all_except(self, *connection_ids: Any) -> TClient:
        excluded = flatten_ids(connection_ids)
        return self._proxy(lambda message: self._manager.send_all_except(message, excluded))

    def client(self, connection_id: str) -> TClient:
        connection_id = _id(connection_id)
        return self._proxy(
            partial(self._manager.send_connection, connection_id),
            partial(self._manager.invoke_connection, connection_id),
        )

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

    def __init__(
        self, manager: HubLifetimeManager, caller_id: str, spec: ClientSpec | None = None
    ) -> None:
        super().__init__(manager, spec)
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
