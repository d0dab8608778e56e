"""Argument binding and type checking for hub methods (API.md "Hub method resolution")."""

from __future__ import annotations

import collections.abc
import dataclasses
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Optional, TypedDict, Union

import pytest

from flask_signalr.server.binding import (
    ARGUMENT_TYPE_ERROR,
    Signature,
    build_signature,
    checker_for,
    is_stream_hint,
)
from flask_signalr.server.error_texts import InvalidDataException

# -- checker_for -----------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@dataclasses.dataclass
class Line:
    start: Point
    end: Point
    label: str | None = None


class Movie(TypedDict):
    title: str


class Plain:
    pass


class Child(Plain):
    pass


ACCEPTED: list[tuple[Any, Any, Any]] = [
    # (hint, value received, value bound)
    (int, 1, 1),
    (int, -(2**70), -(2**70)),
    (float, 1.5, 1.5),
    (float, 2, 2.0),  # ints widen to float
    (str, "a", "a"),
    (str, "", ""),
    (bool, True, True),
    (bool, False, False),
    (type(None), None, None),
    (None, None, None),
    (list[int], [1, 2], [1, 2]),
    (list[int], [], []),
    (list[float], [1, 2.5], [1.0, 2.5]),
    (list[list[str]], [["a"], []], [["a"], []]),
    (list, [1, "a", None], [1, "a", None]),
    (Sequence[int], [1], [1]),
    (collections.abc.MutableSequence[str], ["a"], ["a"]),
    (dict[str, int], {"a": 1}, {"a": 1}),
    (dict[str, float], {"a": 1}, {"a": 1.0}),
    (dict, {"a": [1]}, {"a": [1]}),
    (Mapping[str, list[int]], {"a": [1]}, {"a": [1]}),
    (tuple[int, str], [1, "a"], (1, "a")),
    (tuple[int, ...], [1, 2, 3], (1, 2, 3)),
    (tuple[int, ...], [], ()),
    (tuple, [1, "a"], (1, "a")),
    (set[int], [1, 2, 2], {1, 2}),
    (frozenset[str], ["a"], frozenset({"a"})),
    (Optional[int], None, None),  # noqa: UP045 - the typing spelling is what users write
    (Optional[int], 3, 3),  # noqa: UP045
    (int | None, None, None),
    (int | str, 1, 1),
    (int | str, "a", "a"),
    (Union[int, str], "a", "a"),  # noqa: UP007
    (float | None, 1, 1.0),
    (list[int] | None, [1], [1]),
    (Literal["a", "b"], "a", "a"),
    (Literal[1, 2], 2, 2),
    (Literal[True], True, True),
    (Point, {"x": 1, "y": 2}, Point(1, 2)),
    (Point, {"x": 1}, Point(1, 0)),  # defaulted field may be left out
    (Point, Point(3, 4), Point(3, 4)),
    (Line, {"start": {"x": 1}, "end": {"x": 2, "y": 3}}, Line(Point(1), Point(2, 3))),
    (Line, {"start": {"x": 1}, "end": {"x": 2}, "label": None}, Line(Point(1), Point(2))),
    (Movie, {"title": "x"}, {"title": "x"}),
    (object, 1, 1),
]


@pytest.mark.parametrize(("hint", "value", "bound"), ACCEPTED)
def test_accepted_values(hint: Any, value: Any, bound: Any) -> None:
    result = checker_for(hint)(value)
    assert result == bound
    assert type(result) is type(bound)


def test_float_conversion_returns_a_float() -> None:
    assert type(checker_for(float)(2)) is float


@pytest.mark.parametrize("kind", [Plain, Child])
def test_plain_class_is_an_isinstance_check(kind: type[Plain]) -> None:
    instance = kind()
    assert checker_for(Plain)(instance) is instance


@pytest.mark.parametrize(
    "value", [None, 1, "x", 1.5, True, [1], {"a": 1}, object(), b"x"], ids=repr
)
def test_any_passes_every_value_through(value: Any) -> None:
    assert checker_for(Any)(value) is value


REJECTED: list[tuple[Any, Any]] = [
    (int, True),
    (int, False),
    (int, 1.0),
    (int, 1.5),
    (int, "1"),
    (int, None),
    (float, True),
    (float, "1.5"),
    (float, None),
    (str, 1),
    (str, None),
    (str, b"a"),
    (str, ["a"]),
    (bool, 1),
    (bool, 0),
    (bool, "true"),
    (bool, None),
    (type(None), 0),
    (type(None), ""),
    (list[int], [1, "2"]),
    (list[int], [1, True]),
    (list[int], (1, 2)),
    (list[int], "12"),
    (list[int], {"a": 1}),
    (list[int], None),
    (list, "ab"),
    (dict[str, int], {"a": "1"}),
    (dict[str, int], {1: 1}),
    (dict[str, int], [["a", 1]]),
    (dict[str, int], None),
    (dict, [1]),
    (tuple[int, str], [1]),
    (tuple[int, str], [1, "a", 2]),
    (tuple[int, str], ["a", 1]),
    (tuple[int, str], "ab"),
    (tuple[int, ...], [1, "a"]),
    (set[int], [1, "a"]),
    (set[int], 1),
    (set[list[int]], [[1]]),  # unhashable element
    (Optional[int], "a"),  # noqa: UP045
    (Optional[int], 1.5),  # noqa: UP045
    (int | str, 1.5),
    (int | str, None),
    (Literal["a", "b"], "c"),
    (Literal["a", "b"], None),
    (Literal[1], True),  # True == 1, but it is not the literal 1
    (Literal[1], 1.0),
    (Literal[True], 1),
    (Point, {"x": 1, "z": 3}),  # unknown field
    (Point, {"y": 1}),  # missing field
    (Point, {}),
    (Point, {"x": "1"}),  # field of the wrong type
    (Point, [1, 2]),
    (Point, None),
    (Line, {"start": {"x": 1}, "end": {"x": "2"}}),  # nested field of the wrong type
    (Line, {"start": {"x": 1}}),
    (Movie, {1: "x"}),
    (Movie, ["title"]),
    (Plain, {}),
    (Plain, None),
    (Plain, "x"),
]


@pytest.mark.parametrize(("hint", "value"), REJECTED)
def test_rejected_values(hint: Any, value: Any) -> None:
    with pytest.raises(InvalidDataException) as caught:
        checker_for(hint)(value)
    assert str(caught.value) == ARGUMENT_TYPE_ERROR


def test_argument_type_error_text_is_aspnet_text() -> None:
    assert ARGUMENT_TYPE_ERROR == (
        "Error binding arguments. Make sure that the types of the provided values match the "
        "types of the hub method being invoked."
    )


def test_invalid_data_exception_is_named_as_in_dotnet() -> None:
    # Detailed error texts read "... InvalidDataException: ..." (PROTOCOL.md §7).
    assert InvalidDataException.__name__ == "InvalidDataException"


# -- build_signature ---------------------------------------------------------------------------


class Methods:
    """Hub-method-shaped functions (``self`` first) whose hints resolve at module level."""

    def nothing(self) -> None: ...

    def add(self, a: int, b: int) -> int:
        return a + b

    def scale(self, value: float) -> float:
        return value

    def greet(self, name: str, punctuation: str = "!") -> str:
        return name + punctuation

    def untyped(self, a, b):  # type: ignore[no-untyped-def]
        return a, b

    def extras(self, first: int, *rest: Any) -> None: ...

    def only_extras(self, *rest: Any) -> None: ...

    def with_kwargs(self, a: int, **kwargs: Any) -> None: ...

    def keyword_only_default(self, a: int, *, flag: bool = False) -> None: ...

    def keyword_only_required(self, a: int, *, flag: bool) -> None: ...

    def upload_typing_iterator(self, name: str, items: typing.Iterator[int]) -> None: ...

    def upload_typing_iterable(self, name: str, items: typing.Iterable[int]) -> None: ...

    def upload_abc_iterator(self, name: str, items: collections.abc.Iterator[int]) -> None: ...

    def upload_abc_iterable(self, name: str, items: collections.abc.Iterable[str]) -> None: ...

    def upload_bare(self, name: str, items: collections.abc.Iterator) -> None: ...  # type: ignore[type-arg]

    def upload_middle(self, a: int, items: collections.abc.Iterator[int], b: str) -> None: ...

    def upload_two(
        self, first: collections.abc.Iterator[int], second: collections.abc.Iterable[str]
    ) -> None: ...

    def takes_point(self, point: Point) -> None: ...

    def takes_mixed(self, a: int, b: list[str], c: dict[str, int] | None) -> None: ...

    def takes_bare_containers(self, a: dict, b: list, c: tuple, d: set) -> None: ...  # type: ignore[type-arg]


def sig(function: Callable[..., Any]) -> Signature:
    return build_signature(function)


@pytest.mark.parametrize(
    ("function", "arguments", "bound"),
    [
        (Methods.nothing, [], []),
        (Methods.add, [1, 2], [1, 2]),
        (Methods.scale, [2], [2.0]),
        (Methods.greet, ["bob"], ["bob"]),  # defaulted parameter left out
        (Methods.greet, ["bob", "?"], ["bob", "?"]),
        (Methods.untyped, [None, {"a": 1}], [None, {"a": 1}]),
        (Methods.extras, [1], [1]),
        (Methods.extras, [1, "x", None, [2]], [1, "x", None, [2]]),
        (Methods.only_extras, [], []),
        (Methods.only_extras, [1, 2, 3], [1, 2, 3]),
        (Methods.with_kwargs, [1], [1]),
        (Methods.keyword_only_default, [1], [1]),
        (Methods.takes_point, [{"x": 1}], [Point(1)]),
        (Methods.takes_mixed, [1, ["a"], None], [1, ["a"], None]),
        (Methods.takes_mixed, [1, [], {"k": 2}], [1, [], {"k": 2}]),
        (
            Methods.takes_bare_containers,
            [{"a": 1}, [1, "x"], [2], [3]],
            [{"a": 1}, [1, "x"], (2,), {3}],
        ),
    ],
)
def test_bind(function: Callable[..., Any], arguments: list[Any], bound: list[Any]) -> None:
    result = sig(function).bind(arguments)
    assert result == bound
    assert [type(value) for value in result] == [type(value) for value in bound]


@pytest.mark.parametrize(
    ("function", "arguments", "text"),
    [
        (Methods.add, [1], "Invocation provides 1 argument(s) but target expects 2."),
        (Methods.add, [], "Invocation provides 0 argument(s) but target expects 2."),
        (Methods.add, [1, 2, 3], "Invocation provides 3 argument(s) but target expects 2."),
        (Methods.nothing, [1], "Invocation provides 1 argument(s) but target expects 0."),
        (Methods.greet, [], "Invocation provides 0 argument(s) but target expects 2."),
        (Methods.greet, ["a", "b", "c"], "Invocation provides 3 argument(s) but target expects 2."),
        (Methods.extras, [], "Invocation provides 0 argument(s) but target expects 1."),
        (Methods.with_kwargs, [1, 2], "Invocation provides 2 argument(s) but target expects 1."),
        (
            Methods.keyword_only_default,
            [1, True],
            "Invocation provides 2 argument(s) but target expects 1.",
        ),
        # Stream parameters are not counted: the client passes them as streamIds.
        (
            Methods.upload_abc_iterator,
            ["a", 1],
            "Invocation provides 2 argument(s) but target expects 1.",
        ),
        (Methods.upload_two, [1], "Invocation provides 1 argument(s) but target expects 0."),
    ],
)
def test_wrong_argument_count_text(
    function: Callable[..., Any], arguments: list[Any], text: str
) -> None:
    with pytest.raises(InvalidDataException) as caught:
        sig(function).bind(arguments)
    assert str(caught.value) == text


@pytest.mark.parametrize(
    ("function", "arguments"),
    [
        (Methods.add, [1, "2"]),
        (Methods.add, [True, 2]),
        (Methods.add, [1.0, 2]),
        (Methods.scale, [True]),
        (Methods.greet, ["bob", 1]),
        (Methods.takes_point, [{"x": 1, "z": 2}]),
        (Methods.takes_mixed, [1, ["a", 2], None]),
        (Methods.upload_middle, [1, 2]),
    ],
)
def test_wrong_argument_type(function: Callable[..., Any], arguments: list[Any]) -> None:
    with pytest.raises(InvalidDataException) as caught:
        sig(function).bind(arguments)
    assert str(caught.value) == ARGUMENT_TYPE_ERROR


@pytest.mark.parametrize(
    "function",
    [
        Methods.upload_typing_iterator,
        Methods.upload_typing_iterable,
        Methods.upload_abc_iterator,
        Methods.upload_abc_iterable,
        Methods.upload_bare,
    ],
)
def test_iterator_parameters_are_stream_positions(function: Callable[..., Any]) -> None:
    signature = sig(function)
    assert signature.stream_positions == (1,)
    assert [parameter.name for parameter in signature.parameters] == ["name"]
    assert signature.expected_count == 1
    assert signature.bind(["x"]) == ["x"]


def test_stream_position_counts_every_parameter() -> None:
    signature = sig(Methods.upload_middle)
    assert signature.stream_positions == (1,)
    assert [parameter.name for parameter in signature.parameters] == ["a", "b"]
    assert signature.bind([1, "x"]) == [1, "x"]


def test_several_stream_parameters() -> None:
    signature = sig(Methods.upload_two)
    assert signature.stream_positions == (0, 1)
    assert signature.parameters == ()
    assert signature.bind([]) == []


def test_signature_without_streams_or_extras() -> None:
    signature = sig(Methods.add)
    assert signature.stream_positions == ()
    assert not signature.accepts_extra
    assert [(p.name, p.has_default) for p in signature.parameters] == [("a", False), ("b", False)]


def test_defaults_are_recorded() -> None:
    assert [(p.name, p.has_default) for p in sig(Methods.greet).parameters] == [
        ("name", False),
        ("punctuation", True),
    ]


def test_varargs_and_keyword_only_parameters_are_not_bound_positionally() -> None:
    assert sig(Methods.extras).accepts_extra
    assert [p.name for p in sig(Methods.extras).parameters] == ["first"]
    assert [p.name for p in sig(Methods.keyword_only_default).parameters] == ["a"]
    assert [p.name for p in sig(Methods.with_kwargs).parameters] == ["a"]
    assert not sig(Methods.with_kwargs).accepts_extra


def test_required_keyword_only_parameter_is_refused_at_build_time() -> None:
    with pytest.raises(TypeError) as caught:
        build_signature(Methods.keyword_only_required)
    text = str(caught.value)
    assert "keyword_only_required" in text
    assert "'flag'" in text
    assert "positional" in text


@pytest.mark.parametrize(
    ("hint", "is_stream"),
    [
        (typing.Iterator[int], True),
        (typing.Iterable[int], True),
        (collections.abc.Iterator[int], True),
        (collections.abc.Iterable[int], True),
        (collections.abc.Iterator, True),
        (collections.abc.Iterable, True),
        (list[int], False),
        (Sequence[int], False),
        (int, False),
        (Any, False),
        (collections.abc.Generator[int, None, None], False),
    ],
)
def test_is_stream_hint(hint: Any, is_stream: bool) -> None:
    assert is_stream_hint(hint) is is_stream
