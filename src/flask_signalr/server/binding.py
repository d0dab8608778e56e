"""Bind a client's invocation arguments to a hub method's parameters, checking type hints.

Clients are not trusted: where a parameter is annotated (``int``, ``float``, ``str``, ``bool``,
``list[...]``, ``dict[...]``, ``tuple[...]``, ``Optional``/unions, ``Literal``, dataclasses,
plain classes), the value must match, and a mismatch is an error completion for that call, never
a crash. Checkers are built once per method when the hub is mapped, not per call.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_signalr.server.error_texts import InvalidDataException

Checker = Callable[[Any], Any]
_MISSING = object()
_BARE_CONTAINERS: dict[Any, Any] = {
    list: list[Any],
    set: set[Any],
    frozenset: frozenset[Any],
    dict: dict[Any, Any],
    tuple: tuple[Any, ...],
}


ARGUMENT_TYPE_ERROR = (
    "Error binding arguments. Make sure that the types of the provided values match the types "
    "of the hub method being invoked."
)

_STREAM_ORIGINS = (collections.abc.Iterator, collections.abc.Iterable)


@dataclass(frozen=True)
class Parameter:
    name: str
    check: Checker
    has_default: bool


@dataclass(frozen=True)
class Signature:
    """How to bind a method's arguments: checked positional parameters plus stream parameters."""

    parameters: tuple[Parameter, ...]
    #: Positions (among all parameters) that receive client-to-server streams.
    stream_positions: tuple[int, ...]
    #: Per stream parameter, the check applied to each item the client streams.
    stream_item_checks: tuple[Checker, ...]
    accepts_extra: bool

    @property
    def expected_count(self) -> int:
        return len(self.parameters)

    def bind(self, arguments: Sequence[Any]) -> list[Any]:
        """Check ``arguments`` against the non-stream parameters; return the converted values."""
        count = len(arguments)
        required = sum(1 for parameter in self.parameters if not parameter.has_default)
        if count < required or (count > len(self.parameters) and not self.accepts_extra):
            raise InvalidDataException(
                f"Invocation provides {count} argument(s) but target expects "
                f"{len(self.parameters)}."
            )
        bound = []
        for index, value in enumerate(arguments):
            if index < len(self.parameters):
                value = self.parameters[index].check(value)
            bound.append(value)
        return bound

    def merge(self, values: list[Any], streams: list[Any]) -> list[Any]:
        """Interleave bound values and upload streams in parameter order."""
        if not streams:
            return values
        merged: list[Any] = []
        value_iter, stream_iter = iter(values), iter(streams)
        for position in range(len(self.parameters) + len(self.stream_positions)):
            source = stream_iter if position in self.stream_positions else value_iter
            item = next(source, _MISSING)
            if item is _MISSING:
                break  # trailing defaulted parameters the client left out
            merged.append(item)
        merged.extend(value_iter)
        return merged


def build_signature(function: Callable[..., Any]) -> Signature:
    """Inspect ``function`` (a hub method, ``self`` excluded) once, when the hub is mapped."""
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function)
    parameters: list[Parameter] = []
    stream_positions: list[int] = []
    stream_item_checks: list[Checker] = []
    accepts_extra = False
    for position, parameter in enumerate(list(signature.parameters.values())[1:]):
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            accepts_extra = True
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            if parameter.default is inspect.Parameter.empty:
                raise TypeError(
                    f"Hub method {function.__qualname__} has a required keyword-only parameter "
                    f"{parameter.name!r}; clients can only pass positional arguments."
                )
            continue
        hint = hints.get(parameter.name, Any)
        if is_stream_hint(hint):
            stream_positions.append(position)
            item_hints = typing.get_args(hint)
            stream_item_checks.append(checker_for(item_hints[0]) if item_hints else _accept)
            continue
        parameters.append(
            Parameter(
                parameter.name,
                checker_for(hint),
                parameter.default is not inspect.Parameter.empty,
            )
        )
    return Signature(
        tuple(parameters), tuple(stream_positions), tuple(stream_item_checks), accepts_extra
    )


def is_stream_hint(hint: Any) -> bool:
    """``Iterator[T]`` / ``Iterable[T]`` (typing or collections.abc) mark upload streams."""
    origin = typing.get_origin(hint) or hint
    return origin in _STREAM_ORIGINS


def checker_for(hint: Any) -> Checker:
    """A function that validates (and where sensible converts) one value for ``hint``."""
    if hint is Any or hint is inspect.Parameter.empty or hint is object:
        return _accept
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _union_checker([checker_for(arg) for arg in args])
    if origin is typing.Literal:
        return _literal_checker(args)
    if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence):
        return _list_checker(checker_for(args[0]) if args else _accept)
    if origin in (set, frozenset, collections.abc.Set):
        return _set_checker(origin if origin is not collections.abc.Set else set, args)
    if origin is tuple:
        return _tuple_checker(args)
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return _dict_checker(*(checker_for(arg) for arg in args) if args else (_accept, _accept))
    if hint is type(None) or hint is None:
        return _exact(type(None))
    if hint is bool:
        return _exact(bool)
    if hint is int:
        return _int
    if hint is float:
        return _float
    if hint in _BARE_CONTAINERS:
        return checker_for(_BARE_CONTAINERS[hint])
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_checker(hint)
    if _is_typed_dict(hint):
        return _dict_checker(_string_key, _accept)
    if isinstance(hint, type):
        return _instance(hint)
    return _accept  # TypeVars, NewTypes and other constructs are not checked


def _fail() -> typing.NoReturn:
    raise InvalidDataException(ARGUMENT_TYPE_ERROR)


def _accept(value: Any) -> Any:
    return value


def _exact(kind: type) -> Checker:
    def check(value: Any) -> Any:
        if type(value) is not kind:
            _fail()
        return value

    return check


def _instance(kind: type) -> Checker:
    def check(value: Any) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            _fail()
        return value

    return check


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail()
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail()
    return float(value)


def _string_key(value: Any) -> str:
    if not isinstance(value, str):
        _fail()
    return value


def _union_checker(checkers: list[Checker]) -> Checker:
    def check(value: Any) -> Any:
        for candidate in checkers:
            try:
                return candidate(value)
            except InvalidDataException:
                continue
        _fail()

    return check


def _literal_checker(options: tuple[Any, ...]) -> Checker:
    def check(value: Any) -> Any:
        if not any(value == option and type(value) is type(option) for option in options):
            _fail()
        return value

    return check


def _list_checker(item: Checker) -> Checker:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            _fail()
        return [item(element) for element in value]

    return check


def _set_checker(kind: type, args: tuple[Any, ...]) -> Checker:
    item = checker_for(args[0]) if args else _accept

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            _fail()
        try:
            return kind(item(element) for element in value)
        except TypeError:  # unhashable element
            _fail()

    return check


def _tuple_checker(args: tuple[Any, ...]) -> Checker:
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        item = checker_for(args[0]) if args else _accept

        def check_variadic(value: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                _fail()
            return tuple(item(element) for element in value)

        return check_variadic
    items = [checker_for(arg) for arg in args]

    def check_fixed(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) != len(items):
            _fail()
        return tuple(checker(element) for checker, element in zip(items, value, strict=True))

    return check_fixed


def _dict_checker(key: Checker, item: Checker) -> Checker:
    def check(value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            _fail()
        return {key(k): item(v) for k, v in value.items()}

    return check


def _dataclass_checker(kind: type) -> Checker:
    """A JSON object becomes the dataclass; unknown or missing fields are binding errors."""
    hints = typing.get_type_hints(kind)
    fields = {
        field.name: checker_for(hints.get(field.name, Any)) for field in dataclasses.fields(kind)
    }

    def check(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if not isinstance(value, dict) or not set(value) <= set(fields):
            _fail()
        try:
            return kind(**{name: fields[name](item) for name, item in value.items()})
        except TypeError:  # a required field is missing
            _fail()

    return check


def _is_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__total__")
