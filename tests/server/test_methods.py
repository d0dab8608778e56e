"""Which hub methods a client can invoke, and under which names (API.md "Hub method resolution")."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any, Protocol

import pytest

from flask_signalr import Hub, authorize, hub_method
from flask_signalr.auth import AuthorizationRequirement
from flask_signalr.server.methods import HubMethod, discover_methods, normalize


class ChatHub(Hub):
    def send_message(self, user: str, message: str) -> None: ...

    def Echo(self, value: Any) -> Any:  # noqa: N802 - a C#-style name
        return value

    def add(self, a: int, b: int) -> int:
        return a + b

    @hub_method("Renamed")
    def python_name(self) -> None: ...

    def counter(self, count: int) -> Iterator[int]:
        yield from range(count)

    def declared_stream(self, count: int) -> Iterator[int]:
        return iter(range(count))

    def declared_iterable(self) -> Iterable[str]:
        return ["a"]

    def declared_generator(self) -> Generator[int, None, None]:
        return (i for i in range(2))

    def returns_list(self) -> list[int]:
        return [1]

    def upload(self, name: str, items: Iterator[int]) -> int:
        return sum(items)

    def on_connected(self) -> None: ...

    def on_disconnected(self, exception: BaseException | None) -> None: ...

    def _private(self) -> None: ...

    def __dunder__(self) -> None: ...

    @staticmethod
    def static_helper() -> None: ...

    @classmethod
    def class_helper(cls) -> None: ...

    @property
    def computed(self) -> int:
        return 1

    constant = 5


class DerivedHub(ChatHub):
    def extra(self) -> None: ...

    def add(self, a: int, b: int) -> int:  # an override is still one method
        return a - b


class GuardedHub(Hub):
    @authorize
    def signed_in(self) -> None: ...

    @authorize(roles=["ADMIN"])
    def admin(self) -> None: ...

    @authorize(roles=["ADMIN", "OPS"])
    def admin_or_ops(self) -> None: ...

    @authorize(roles=["A"])
    @authorize(roles=["B"])
    def both(self) -> None: ...

    def open(self) -> None: ...


class VoteClient(Protocol):
    def update_votes(self, votes: dict[str, int]) -> None: ...


class TypedHub(Hub[VoteClient]):
    def vote(self, option: str) -> None: ...


class DefaultedConstructorHub(Hub):
    def __init__(self, setting: int = 1) -> None:
        self.setting = setting

    def ping(self) -> None: ...


class NeedsArgumentsHub(Hub):
    def __init__(self, database: Any) -> None:
        self.database = database

    def ping(self) -> None: ...


class CaseCollisionHub(Hub):
    def send_message(self) -> None: ...

    def sendMessage(self) -> None: ...  # noqa: N802


class UnderscoreCollisionHub(Hub):
    def getuser(self) -> None: ...

    def get_user(self) -> None: ...


class WireNameCollisionHub(Hub):
    def send(self) -> None: ...

    @hub_method("Send")
    def other(self) -> None: ...


class UnresolvableHintHub(Hub):
    def method(self, value: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821


class RequiredKeywordHub(Hub):
    def method(self, *, flag: bool) -> None: ...


class EmptyHub(Hub):
    pass


@pytest.fixture(scope="module")
def chat() -> dict[str, HubMethod]:
    return discover_methods(ChatHub)


@pytest.mark.parametrize(
    ("wire_name", "python_name"),
    [
        ("SendMessage", "send_message"),
        ("sendMessage", "send_message"),
        ("send_message", "send_message"),
        ("SEND_MESSAGE", "send_message"),
        ("Send_Message", "send_message"),
        ("sendmessage", "send_message"),
        ("echo", "Echo"),
        ("ECHO", "Echo"),
        ("Add", "add"),
        ("Renamed", "python_name"),
        ("renamed", "python_name"),
        ("Counter", "counter"),
        ("Upload", "upload"),
    ],
)
def test_lookup_ignores_case_and_underscores(
    chat: dict[str, HubMethod], wire_name: str, python_name: str
) -> None:
    method = chat[normalize(wire_name)]
    assert method.function is getattr(ChatHub, python_name)


def test_method_names_are_the_wire_names(chat: dict[str, HubMethod]) -> None:
    assert chat["sendmessage"].name == "send_message"
    assert chat["echo"].name == "Echo"
    assert chat["renamed"].name == "Renamed"


def test_explicit_wire_name_replaces_the_python_name(chat: dict[str, HubMethod]) -> None:
    assert normalize("python_name") not in chat


@pytest.mark.parametrize(
    "name",
    [
        "on_connected",
        "OnConnected",
        "on_disconnected",
        "OnDisconnected",
        "_private",
        "private",
        "__dunder__",
        "dunder",
        "static_helper",
        "class_helper",
        "computed",
        "constant",
        "__init__",
        "init",
        "clients",
        "groups",
        "context",
    ],
)
def test_not_invocable(chat: dict[str, HubMethod], name: str) -> None:
    assert normalize(name) not in chat


def test_exactly_the_public_methods_are_invocable(chat: dict[str, HubMethod]) -> None:
    assert sorted(method.name for method in chat.values()) == sorted(
        [
            "send_message",
            "Echo",
            "add",
            "Renamed",
            "counter",
            "declared_stream",
            "declared_iterable",
            "declared_generator",
            "returns_list",
            "upload",
        ]
    )


def test_hub_with_no_methods() -> None:
    assert discover_methods(EmptyHub) == {}
    assert discover_methods(Hub) == {}


def test_inherited_methods_are_invocable_and_overrides_win() -> None:
    methods = discover_methods(DerivedHub)
    assert methods["extra"].function is DerivedHub.extra
    assert methods["add"].function is DerivedHub.add
    assert methods["sendmessage"].function is ChatHub.send_message


def test_strongly_typed_hub() -> None:
    assert list(discover_methods(TypedHub)) == ["vote"]


@pytest.mark.parametrize(
    ("name", "is_stream"),
    [
        ("counter", True),  # a generator
        ("declared_stream", True),  # annotated to return an iterator
        ("declared_iterable", True),
        ("declared_generator", True),
        ("returns_list", False),
        ("add", False),
        ("send_message", False),
        ("upload", False),  # takes a stream, returns a value
    ],
)
def test_stream_methods_are_flagged(chat: dict[str, HubMethod], name: str, is_stream: bool) -> None:
    assert chat[normalize(name)].is_stream is is_stream


def test_signatures_are_built_once_at_discovery(chat: dict[str, HubMethod]) -> None:
    assert chat["add"].signature.expected_count == 2
    assert chat["upload"].signature.stream_positions == (1,)
    assert chat["upload"].signature.expected_count == 1


@pytest.mark.parametrize(
    "hub_class",
    [CaseCollisionHub, UnderscoreCollisionHub, WireNameCollisionHub],
)
def test_colliding_names_are_refused(hub_class: type[Hub]) -> None:
    with pytest.raises(TypeError) as caught:
        discover_methods(hub_class)
    text = str(caught.value)
    assert hub_class.__name__ in text
    assert "overloads" in text


def test_constructor_needing_arguments_is_refused() -> None:
    with pytest.raises(TypeError) as caught:
        discover_methods(NeedsArgumentsHub)
    text = str(caught.value)
    assert "NeedsArgumentsHub" in text
    assert "database" in text


def test_constructor_with_defaults_is_fine() -> None:
    assert list(discover_methods(DefaultedConstructorHub)) == ["ping"]


@pytest.mark.parametrize(
    "not_a_hub",
    [object, int, ChatHub(), "ChatHub", None, type("Lookalike", (), {"on_connected": None})],
    ids=["object", "int", "hub-instance", "str", "None", "lookalike"],
)
def test_non_hub_is_refused(not_a_hub: Any) -> None:
    with pytest.raises(TypeError) as caught:
        discover_methods(not_a_hub)
    assert "not a Hub subclass" in str(caught.value)


def test_unresolvable_type_hint_is_a_type_error_naming_the_method() -> None:
    with pytest.raises(TypeError) as caught:
        discover_methods(UnresolvableHintHub)
    assert "UnresolvableHintHub.method" in str(caught.value)


def test_required_keyword_only_parameter_is_refused() -> None:
    with pytest.raises(TypeError) as caught:
        discover_methods(RequiredKeywordHub)
    assert "'flag'" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "requirements"),
    [
        ("signed_in", (AuthorizationRequirement(),)),
        ("admin", (AuthorizationRequirement(("ADMIN",)),)),
        ("admin_or_ops", (AuthorizationRequirement(("ADMIN", "OPS")),)),
        ("both", (AuthorizationRequirement(("B",)), AuthorizationRequirement(("A",)))),
        ("open", ()),
    ],
)
def test_authorize_requirements_are_captured(
    name: str, requirements: tuple[AuthorizationRequirement, ...]
) -> None:
    method = discover_methods(GuardedHub)[normalize(name)]
    assert set(method.requirements) == set(requirements)
    assert len(method.requirements) == len(requirements)


@pytest.mark.parametrize("name", ["", None, 5])
def test_hub_method_needs_a_non_empty_name(name: Any) -> None:
    with pytest.raises(TypeError):
        hub_method(name)


def test_normalize() -> None:
    assert normalize("Send_Message") == normalize("sendMessage") == "sendmessage"
