"""The app the interop and wire tests talk to: hubs that exercise every API, plus login."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import gevent
from flask import Flask, current_app, g, jsonify, request
from flask_login import LoginManager, UserMixin, current_user, login_user

from flask_signalr import (
    Hub,
    HubException,
    HubFilter,
    HubInvocationContext,
    HubLifetimeContext,
    SignalR,
    authorize,
    client_method,
    hub_method,
)

TOKENS = {"token-kevin": "kevin", "token-admin": "admin", "token-bob": "bob"}


class User(UserMixin):
    def __init__(self, name: str, roles: tuple[str, ...] = ()) -> None:
        self.id = name
        self.name = name
        self.roles = roles


USERS = {
    "kevin": User("kevin"),
    "bob": User("bob"),
    "admin": User("admin", ("ADMIN",)),
}


class TestHub(Hub):
    """Every hub-side API, reachable from a client."""

    def on_connected(self) -> None:
        events(self).append(("connected", self.context.connection_id))
        self.context.items["connected_at"] = "on_connected"

    def on_disconnected(self, exception: BaseException | None) -> None:
        events(self).append(
            (
                "disconnected",
                self.context.connection_id,
                type(exception).__name__ if exception else None,
            )
        )
        self.clients.all.send("Departed", self.context.connection_id)

    # answers
    def echo(self, value: Any) -> Any:
        return value

    def add(self, a: int, b: int) -> int:
        return a + b

    def scale(self, values: list[float], factor: float = 1.0) -> list[float]:
        return [value * factor for value in values]

    def nothing(self) -> None:
        events(self).append(("nothing", self.context.connection_id))

    @hub_method("ExplicitName")
    def renamed(self) -> str:
        return "explicit"

    # errors
    def throw(self) -> None:
        raise ValueError("secret detail")

    def throw_hub_exception(self, message: str) -> None:
        raise HubException(message)

    def bad_result(self) -> object:
        return object()  # no protocol can encode this

    # targets
    def send_all(self, message: str) -> None:
        self.clients.all.send("Receive", "all", message)

    def send_caller(self, message: str) -> None:
        self.clients.caller.send("Receive", "caller", message)

    def send_others(self, message: str) -> None:
        self.clients.others.send("Receive", "others", message)

    def send_all_except(self, excluded: list[str], message: str) -> None:
        self.clients.all_except(excluded).send("Receive", "all_except", message)

    def send_client(self, connection_id: str, message: str) -> None:
        self.clients.client(connection_id).send("Receive", "client", message)

    def send_clients(self, connection_ids: list[str], message: str) -> None:
        self.clients.clients(*connection_ids).send("Receive", "clients", message)

    def send_user(self, user_id: str, message: str) -> None:
        self.clients.user(user_id).send("Receive", "user", message)

    def send_users(self, user_ids: list[str], message: str) -> None:
        self.clients.users(user_ids).send("Receive", "users", message)

    def send_group(self, group: str, message: str) -> None:
        self.clients.group(group).send("Receive", "group", message)

    def send_groups(self, groups: list[str], message: str) -> None:
        self.clients.groups(groups).send("Receive", "groups", message)

    def send_group_except(self, group: str, excluded: list[str], message: str) -> None:
        self.clients.group_except(group, *excluded).send("Receive", "group_except", message)

    def send_others_in_group(self, group: str, message: str) -> None:
        self.clients.others_in_group(group).send("Receive", "others_in_group", message)

    # groups
    def join(self, group: str) -> None:
        self.groups.add(self.context.connection_id, group)

    def leave(self, group: str) -> None:
        self.groups.remove(self.context.connection_id, group)

    def add_to_group(self, connection_id: str, group: str) -> None:
        self.groups.add(connection_id, group)

    def remove_from_group(self, connection_id: str, group: str) -> None:
        self.groups.remove(connection_id, group)

    # context
    def whoami(self) -> dict[str, Any]:
        return {
            "connectionId": self.context.connection_id,
            "userIdentifier": self.context.user_identifier,
            "authenticated": bool(self.context.user.is_authenticated),
            "currentUser": current_user.get_id() if current_user.is_authenticated else None,
            "app": current_app.name,
            "path": request.path,
        }

    def set_item(self, key: str, value: Any) -> None:
        self.context.items[key] = value

    def get_item(self, key: str) -> Any:
        return self.context.items.get(key)

    def mark_for_teardown(self, label: str) -> None:
        g.teardown_label = label

    def g_is_fresh(self) -> bool:
        fresh = not hasattr(g, "marker")
        g.marker = True
        return fresh

    def abort_me(self) -> None:
        self.context.abort()

    def wait_for_abort(self) -> bool:
        return self.context.connection_aborted.wait(timeout=5)

    def sleep(self, seconds: float) -> float:
        gevent.sleep(seconds)
        return seconds

    def broadcast_big(self, index: int, size: int) -> None:
        self.clients.all.send("Big", index, "x" * size)

    def record(self, label: str) -> None:
        events(self).append(("record", label))

    @authorize(roles=["ADMIN"])
    def admin_only(self) -> str:
        return "admin ok"

    @authorize
    def signed_in_only(self) -> str:
        return "signed in"

    def stream_numbers(self, count: int) -> Iterator[int]:
        yield from range(count)

    # streams
    def counter(self, count: int, delay: float) -> Iterator[int]:
        try:
            for number in range(count):
                yield number
                gevent.sleep(delay)
        except GeneratorExit:
            events(self).append(("stream-closed", self.context.connection_id))
            raise

    def failing_stream(self, count: int) -> Iterator[int]:
        yield from range(count)
        raise ValueError("stream secret")

    def refusing_stream(self) -> Iterator[int]:
        yield 1
        raise HubException("no more")

    def upload_sum(self, numbers: Iterator[int]) -> int:
        return sum(numbers)

    def upload_join(self, prefix: str, words: Iterator[str], suffix: str) -> str:
        return prefix + "".join(words) + suffix

    def upload_doubled(self, numbers: Iterator[int]) -> Iterator[int]:
        for number in numbers:
            yield number * 2

    def upload_error(self, numbers: Iterator[int]) -> str:
        try:
            return str(sum(numbers))
        except HubException as error:
            return f"client error: {error}"

    # client results
    def ask_caller(self, question: str) -> Any:
        return self.clients.caller.invoke("Ask", question)

    def ask_client(self, connection_id: str, question: str, timeout: float) -> dict[str, Any]:
        try:
            return {
                "result": self.clients.client(connection_id).invoke(
                    "Ask", question, timeout=timeout
                )
            }
        except Exception as error:  # noqa: BLE001 - the test inspects what the caller got
            return {"error": type(error).__name__, "message": str(error)}

    def ask_all(self) -> str:
        try:
            self.clients.all.invoke("Ask", "everyone")
        except TypeError as error:
            return str(error)
        return "no error"

    # Python client tests
    def upload_record(self, items: Iterator[Any]) -> None:
        events(self).append(("uploaded", list(items)))


class ChatClient(Protocol):
    def receive_message(self, user: str, message: str) -> None: ...

    @client_method("Exact_Name")
    def exact(self, value: int) -> None: ...

    def get_answer(self, question: str) -> int: ...


class TypedHub(Hub[ChatClient]):
    def say(self, user: str, message: str) -> None:
        self.clients.all.receive_message(user, message)

    def exact(self, value: int) -> None:
        self.clients.caller.exact(value)

    def ask(self) -> int:
        return self.clients.caller.get_answer("life") + 1


class Recording(HubFilter):
    """Writes the filter order into TEST_EVENTS."""

    def __init__(self, name: str) -> None:
        self.name = name

    def invoke(self, invocation: HubInvocationContext, next: Any) -> Any:
        events(invocation.hub).append(("filter", self.name, "before", invocation.method_name))
        result = next(invocation)
        events(invocation.hub).append(("filter", self.name, "after", invocation.method_name))
        return result

    def on_connected(self, context: HubLifetimeContext, next: Any) -> None:
        events(context.hub).append(("filter", self.name, "connected"))
        next(context)

    def on_disconnected(self, context: HubLifetimeContext, exception: Any, next: Any) -> None:
        events(context.hub).append(("filter", self.name, "disconnected"))
        next(context, exception)


class RateLimit(HubFilter):
    """At most three calls per connection, then a HubException."""

    def invoke(self, invocation: HubInvocationContext, next: Any) -> Any:
        calls = invocation.context.items.get("calls", 0) + 1
        invocation.context.items["calls"] = calls
        if calls > 3:
            raise HubException("Too many calls; slow down.")
        return next(invocation)


class FilteredHub(Hub):
    def on_connected(self) -> None:
        events(self).append(("filtered-hub", "connected"))

    def echo(self, value: Any) -> Any:
        events(self).append(("filtered-hub", "echo"))
        return value


class ExplodingHub(Hub):
    def on_connected(self) -> None:
        raise RuntimeError("on_connected failed")

    def on_disconnected(self, exception: BaseException | None) -> None:
        events(self).append(("exploding-disconnected",))


@authorize
class SecureHub(Hub):
    def whoami(self) -> str | None:
        return self.context.user_identifier


@authorize(roles=["ADMIN"])
class AdminHub(Hub):
    def ping(self) -> str:
        return "pong"


def events(hub: Hub) -> list[Any]:
    return current_app.config["TEST_EVENTS"]  # type: ignore[no-any-return]


def create_app(**options: Any) -> tuple[Flask, SignalR]:
    app = Flask("interop")
    app.secret_key = "test-secret"
    app.config["TEST_EVENTS"] = []
    login = LoginManager(app)

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(user_id)

    @login.request_loader
    def load_from_token(req: Any) -> User | None:
        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            name = TOKENS.get(header[7:])
            return USERS.get(name) if name else None
        return None

    @app.teardown_appcontext
    def record_teardown(exception: BaseException | None) -> None:
        label = g.get("teardown_label")
        if label is not None:
            app.config["TEST_EVENTS"].append(("teardown", label))

    @app.post("/login/<name>")
    def do_login(name: str) -> Any:
        login_user(USERS[name])
        return jsonify(user=name)

    signalr = SignalR(app, **options)
    signalr.map_hub("/hubs/test", TestHub)
    signalr.map_hub("/hubs/secure", SecureHub)
    signalr.map_hub("/hubs/admin", AdminHub)
    signalr.map_hub("/hubs/explode", ExplodingHub)
    signalr.map_hub("/hubs/typed", TypedHub)
    signalr.map_hub("/hubs/filtered", FilteredHub, filters=[Recording("hub"), RateLimit])
    signalr.add_filter(Recording("global"))

    @app.post("/api/broadcast")
    def broadcast() -> Any:
        signalr.hub_context(TestHub).clients.all.send("FromView", request.get_json()["message"])
        return jsonify(sent=True)

    @app.post("/api/group/<group>")
    def to_group(group: str) -> Any:
        signalr.hub_context("/hubs/test").clients.group(group).send("FromView", group)
        return jsonify(sent=True)

    return app, signalr
