"""Hub filters (ASP.NET Core's ``IHubFilter``): code that wraps every hub call.

A filter sees each method invocation, ``on_connected`` and ``on_disconnected`` of the hubs it
applies to, and decides whether and how to continue by calling ``next``. Filters registered with
``signalr.add_filter`` apply to every hub and run first, in the order added; filters given to
``map_hub``/``hub`` apply to that hub and run next. Raising :class:`~flask_signalr.HubException`
from ``invoke`` short-circuits the call: the client gets the exception's text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.context import HubCallerContext
    from flask_signalr.hub import Hub


@dataclass
class HubInvocationContext:
    """One hub method call, as filters see it."""

    #: The calling connection's context.
    context: HubCallerContext
    #: The hub instance the method runs on.
    hub: Hub[Any]
    #: The method name as the client sent it.
    method_name: str
    #: The Python function that will run (unbound; called as ``method(hub, *arguments)``).
    method: Callable[..., Any]
    #: The bound, type-checked arguments (upload streams included).
    arguments: list[Any]


@dataclass
class HubLifetimeContext:
    """A connect or disconnect, as filters see it."""

    context: HubCallerContext
    hub: Hub[Any]


InvokeNext = Callable[[HubInvocationContext], Any]
ConnectedNext = Callable[[HubLifetimeContext], None]
DisconnectedNext = Callable[[HubLifetimeContext, "BaseException | None"], None]


class HubFilter:
    """Base class for filters: override the hooks you need; each must call ``next`` to go on."""

    def invoke(self, invocation: HubInvocationContext, next: InvokeNext) -> Any:
        return next(invocation)

    def on_connected(self, context: HubLifetimeContext, next: ConnectedNext) -> None:
        next(context)

    def on_disconnected(
        self,
        context: HubLifetimeContext,
        exception: BaseException | None,
        next: DisconnectedNext,
    ) -> None:
        next(context, exception)


@dataclass(frozen=True)
class FilterPipeline:
    """The three hooks with every filter applied, composed once per hub."""

    invoke: InvokeNext
    on_connected: ConnectedNext
    on_disconnected: DisconnectedNext


def _call_method(invocation: HubInvocationContext) -> Any:
    return invocation.method(invocation.hub, *invocation.arguments)


def _call_on_connected(context: HubLifetimeContext) -> None:
    context.hub.on_connected()


def _call_on_disconnected(context: HubLifetimeContext, exception: BaseException | None) -> None:
    context.hub.on_disconnected(exception)


def compose(filters: Sequence[HubFilter]) -> FilterPipeline:
    """Wrap the hub's own calls in ``filters``; the first filter is the outermost."""
    invoke: InvokeNext = _call_method
    on_connected: ConnectedNext = _call_on_connected
    on_disconnected: DisconnectedNext = _call_on_disconnected
    for hub_filter in reversed(filters):
        invoke = _wrap_invoke(hub_filter, invoke)
        on_connected = _wrap_connected(hub_filter, on_connected)
        on_disconnected = _wrap_disconnected(hub_filter, on_disconnected)
    return FilterPipeline(invoke, on_connected, on_disconnected)


def _wrap_invoke(hub_filter: HubFilter, inner: InvokeNext) -> InvokeNext:
    return lambda invocation: hub_filter.invoke(invocation, inner)


def _wrap_connected(hub_filter: HubFilter, inner: ConnectedNext) -> ConnectedNext:
    return lambda context: hub_filter.on_connected(context, inner)


def _wrap_disconnected(hub_filter: HubFilter, inner: DisconnectedNext) -> DisconnectedNext:
    return lambda context, exception: hub_filter.on_disconnected(context, exception, inner)


def as_filter(candidate: HubFilter | type[HubFilter]) -> HubFilter:
    """Accept a filter instance or a filter class with a no-argument constructor."""
    if isinstance(candidate, type):
        candidate = candidate()
    if not isinstance(candidate, HubFilter):
        raise TypeError(f"Hub filters must subclass flask_signalr.HubFilter, got {candidate!r}.")
    return candidate
