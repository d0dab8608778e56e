"""The ``Hub`` base class users subclass, and the ``hub_method`` naming decorator."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flask_signalr.clients import GroupManager, HubCallerClients, TClient

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.context import HubCallerContext

_F = TypeVar("_F", bound=Callable[..., Any])

_WIRE_NAME_ATTRIBUTE = "__signalr_name__"


class Hub(Generic[TClient]):
    """Base class of a hub: its public methods are callable by clients.

    A new instance is made for every invocation and lifecycle call, with ``clients``,
    ``groups`` and ``context`` set, so keep per-connection state in ``self.context.items``
    and shared state in the app or a store, never on ``self``.
    """

    clients: HubCallerClients[TClient]
    groups: GroupManager
    context: HubCallerContext

    def on_connected(self) -> None:
        """Called once the client's handshake succeeded; may send and join groups."""

    def on_disconnected(self, exception: BaseException | None) -> None:
        """Called when the connection ends; ``exception`` says why when it ended abnormally."""


def hub_method(name: str) -> Callable[[_F], _F]:
    """Expose a hub method under an explicit wire name (``@hub_method("SendMessage")``)."""
    if not isinstance(name, str) or not name:
        raise TypeError("hub_method() needs the wire name as a non-empty string.")

    def decorate(function: _F) -> _F:
        setattr(function, _WIRE_NAME_ATTRIBUTE, name)
        return function

    return decorate


def wire_name_of(function: Callable[..., Any]) -> str | None:
    """The name given with ``@hub_method``, if any."""
    return getattr(function, _WIRE_NAME_ATTRIBUTE, None)


def client_type_of(hub_class: type[Hub[Any]]) -> type | None:
    """The client Protocol of a strongly typed hub (``class H(Hub[VoteClient])``), if any."""
    for klass in hub_class.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is Hub:
                (client_type,) = typing.get_args(base)
                if isinstance(client_type, type):
                    return client_type
    return None
