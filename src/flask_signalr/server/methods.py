"""Discover a hub class's invocable methods once, when the hub is mapped.

Lookup is case-insensitive and ignores underscores, so ``SendMessage``, ``sendMessage`` and
``send_message`` reach the same method; two methods that collide under that rule are refused at
map time (SignalR does not support overloads).
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_signalr.auth import AuthorizationRequirement, requirements_of
from flask_signalr.hub import Hub, wire_name_of
from flask_signalr.server.binding import Signature, build_signature

_STREAM_RESULT_ORIGINS = (
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
)


@dataclass(frozen=True)
class HubMethod:
    """Everything the dispatcher needs to call one hub method."""

    name: str
    function: Callable[..., Any]
    signature: Signature
    #: Server-to-client stream: a generator, or annotated to return an iterator.
    is_stream: bool
    requirements: tuple[AuthorizationRequirement, ...]


def normalize(name: str) -> str:
    """The lookup key of a wire or Python method name."""
    return name.replace("_", "").lower()


def discover_methods(hub_class: type[Hub[Any]]) -> dict[str, HubMethod]:
    """Map lookup key -> method for every public method a client may call."""
    if not (isinstance(hub_class, type) and issubclass(hub_class, Hub)):
        raise TypeError(f"{hub_class!r} is not a Hub subclass.")
    _require_no_argument_constructor(hub_class)
    reserved = set(dir(Hub))
    methods: dict[str, HubMethod] = {}
    for attribute in dir(hub_class):
        if attribute.startswith("_") or attribute in reserved:
            continue
        function = inspect.getattr_static(hub_class, attribute)
        if isinstance(function, (staticmethod, classmethod)) or not inspect.isfunction(function):
            continue
        wire_name = wire_name_of(function) or attribute
        key = normalize(wire_name)
        if key in methods:
            raise TypeError(
                f"{hub_class.__name__} has two methods answering to {wire_name!r} "
                f"({methods[key].name} and {attribute}); method names are matched "
                "case-insensitively with underscores ignored, and overloads are not supported."
            )
        try:
            signature = build_signature(function)
        except NameError as exc:
            raise TypeError(
                f"Cannot resolve the type hints of {hub_class.__name__}.{attribute}: {exc}"
            ) from exc
        methods[key] = HubMethod(
            name=wire_name,
            function=function,
            signature=signature,
            is_stream=_is_stream(function),
            requirements=requirements_of(function),
        )
    return methods


def _is_stream(function: Callable[..., Any]) -> bool:
    if inspect.isgeneratorfunction(function):
        return True
    try:
        hint = typing.get_type_hints(function).get("return")
    except NameError:
        return False
    return (typing.get_origin(hint) or hint) in _STREAM_RESULT_ORIGINS


def _require_no_argument_constructor(hub_class: type) -> None:
    required = [
        parameter.name
        for parameter in inspect.signature(hub_class).parameters.values()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if required:
        raise TypeError(
            f"{hub_class.__name__}() must be constructible without arguments (a new instance is "
            f"made for every call), but it requires {required}."
        )
