"""The Flask extension: app and factory set-up, hub mapping, negotiate routes, hub contexts."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from flask_signalr import Hub, HubContext, SignalR


class ChatHub(Hub):
    def send_message(self, user: str, message: str) -> None:
        self.clients.all.send("ReceiveMessage", user, message)


class VoteHub(Hub):
    def vote(self, option: str) -> None: ...


class UnmappedHub(Hub):
    pass


class NotAHub:
    def method(self) -> None: ...


def negotiate(app: Flask, path: str, version: int | None = 1) -> Any:
    query = "" if version is None else f"?negotiateVersion={version}"
    return app.test_client().post(f"{path}/negotiate{query}")


def manager_of(context: HubContext[Any]) -> Any:
    """The lifetime manager behind a hub context (to tell apps' endpoints apart)."""
    return context.clients._manager


def endpoint(app: Flask, path: str) -> Any:
    return app.extensions["signalr"].endpoints[path]


# -- set-up ------------------------------------------------------------------------------------


def test_signalr_with_app() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    assert app.extensions["signalr"].extension is signalr
    response = negotiate(app, "/hubs/chat")
    assert response.status_code == 200


def test_hub_decorator_returns_the_class() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    decorated = signalr.hub("/hubs/chat")(ChatHub)
    assert decorated is ChatHub
    assert negotiate(app, "/hubs/chat").status_code == 200


def test_factory_pattern_registers_hubs_declared_before_init_app() -> None:
    signalr = SignalR()

    @signalr.hub("/hubs/early")
    class EarlyHub(Hub):
        def ping(self) -> None: ...

    app = Flask(__name__)
    signalr.init_app(app)
    signalr.map_hub("/hubs/late", VoteHub)
    assert negotiate(app, "/hubs/early").status_code == 200
    assert negotiate(app, "/hubs/late").status_code == 200
    assert endpoint(app, "/hubs/early").hub_class is EarlyHub


def test_two_apps_with_one_extension() -> None:
    signalr = SignalR()
    signalr.map_hub("/hubs/chat", ChatHub)
    first, second = Flask("first"), Flask("second")
    signalr.init_app(first)
    signalr.init_app(second)
    signalr.map_hub("/hubs/vote", VoteHub)  # after both: reaches both
    for app in (first, second):
        assert negotiate(app, "/hubs/chat").status_code == 200
        assert negotiate(app, "/hubs/vote").status_code == 200
    # Each app has its own connections and groups.
    assert endpoint(first, "/hubs/chat").manager is not endpoint(second, "/hubs/chat").manager


def test_several_hubs_per_app() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    signalr.map_hub("/hubs/vote", VoteHub)
    signalr.map_hub("/", UnmappedHub)  # the root path is a valid hub path
    assert negotiate(app, "/hubs/chat").status_code == 200
    assert negotiate(app, "/hubs/vote").status_code == 200
    assert app.test_client().post("/negotiate?negotiateVersion=1").status_code == 200
    assert manager_of(signalr.hub_context(ChatHub)) is not manager_of(signalr.hub_context(VoteHub))


def test_same_hub_class_at_two_paths() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/a", ChatHub)
    signalr.map_hub("/b", ChatHub)
    assert negotiate(app, "/a").status_code == 200
    assert negotiate(app, "/b").status_code == 200


# -- mapping errors ----------------------------------------------------------------------------


def test_mapping_an_already_mapped_path_is_refused() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    with pytest.raises(ValueError, match="/hubs/chat"):
        signalr.map_hub("/hubs/chat", VoteHub)
    assert endpoint(app, "/hubs/chat").hub_class is ChatHub


def test_mapping_an_already_mapped_path_is_refused_before_init_app() -> None:
    # The error belongs where the duplicate is declared, not at a later init_app().
    signalr = SignalR()
    signalr.map_hub("/hubs/chat", ChatHub)
    with pytest.raises(ValueError, match="/hubs/chat"):
        signalr.map_hub("/hubs/chat", VoteHub)
    app = Flask(__name__)
    signalr.init_app(app)
    assert endpoint(app, "/hubs/chat").hub_class is ChatHub


def test_refused_mapping_does_not_break_later_apps() -> None:
    signalr = SignalR(Flask("first"))
    signalr.map_hub("/hubs/chat", ChatHub)
    with pytest.raises(ValueError):
        signalr.map_hub("/hubs/chat", VoteHub)
    second = Flask("second")
    signalr.init_app(second)  # must not replay the refused mapping
    assert endpoint(second, "/hubs/chat").hub_class is ChatHub


@pytest.mark.parametrize("path", ["hubs/chat", "", "chat", None, 5])
def test_hub_path_must_start_with_a_slash(path: Any) -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    with pytest.raises(ValueError, match="must start with '/'"):
        signalr.map_hub(path, ChatHub)
    with pytest.raises(ValueError, match="must start with '/'"):
        signalr.hub(path)(ChatHub)
    assert app.extensions["signalr"].endpoints == {}


def test_hub_path_checked_before_init_app() -> None:
    signalr = SignalR()
    with pytest.raises(ValueError):
        signalr.map_hub("hubs/chat", ChatHub)


def test_mapping_a_non_hub_is_a_type_error() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    with pytest.raises(TypeError):
        signalr.map_hub("/x", NotAHub)  # type: ignore[arg-type]


# -- negotiate over plain HTTP -------------------------------------------------------------------


def test_negotiate_route_is_registered() -> None:
    app = Flask(__name__)
    SignalR(app).map_hub("/hubs/chat", ChatHub)
    rules = {rule.rule: rule for rule in app.url_map.iter_rules()}
    assert "POST" in rules["/hubs/chat/negotiate"].methods  # type: ignore[operator]
    assert "/hubs/chat" in rules


def test_negotiate_version_1() -> None:
    app = Flask(__name__)
    SignalR(app).map_hub("/hubs/chat", ChatHub)
    response = negotiate(app, "/hubs/chat", 1)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["negotiateVersion"] == 1
    assert isinstance(body["connectionId"], str) and body["connectionId"]
    assert isinstance(body["connectionToken"], str)
    assert body["connectionToken"] != body["connectionId"]
    transports = [entry["transport"] for entry in body["availableTransports"]]
    assert "WebSockets" in transports
    for entry in body["availableTransports"]:
        assert "Text" in entry["transferFormats"]


def test_negotiate_version_0_has_no_token() -> None:
    app = Flask(__name__)
    SignalR(app).map_hub("/hubs/chat", ChatHub)
    response = negotiate(app, "/hubs/chat", None)
    assert response.status_code == 200
    body = response.get_json()
    assert body["negotiateVersion"] == 0
    assert "connectionToken" not in body


def test_negotiate_gives_a_new_connection_each_time() -> None:
    app = Flask(__name__)
    SignalR(app).map_hub("/hubs/chat", ChatHub)
    ids = {negotiate(app, "/hubs/chat").get_json()["connectionId"] for _ in range(5)}
    assert len(ids) == 5


def test_negotiate_for_an_unknown_hub_is_404() -> None:
    app = Flask(__name__)
    SignalR(app).map_hub("/hubs/chat", ChatHub)
    assert negotiate(app, "/hubs/nope").status_code == 404


def test_negotiate_honours_the_transports_option() -> None:
    app = Flask(__name__)
    SignalR(app, transports=["LongPolling"]).map_hub("/hubs/chat", ChatHub)
    body = negotiate(app, "/hubs/chat").get_json()
    assert "WebSockets" not in [entry["transport"] for entry in body["availableTransports"]]


# -- hub_context -------------------------------------------------------------------------------


def test_hub_context_by_class_and_by_path() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    by_class = signalr.hub_context(ChatHub)
    by_path = signalr.hub_context("/hubs/chat")
    for context in (by_class, by_path):
        assert isinstance(context, HubContext)
        assert hasattr(context, "clients")
        assert hasattr(context, "groups")
    assert manager_of(by_class) is manager_of(by_path) is endpoint(app, "/hubs/chat").manager


def test_hub_context_sends_with_nobody_connected() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    context = signalr.hub_context(ChatHub)
    context.clients.all.send("ReceiveMessage", "system", "hello")
    context.clients.group("ops").send("Alert", 1)
    context.clients.client("nobody").send("Alert", 1)
    context.clients.user("nobody").send("Alert", 1)


@pytest.mark.parametrize("hub", [UnmappedHub, "/hubs/unmapped", "hubs/chat"])
def test_hub_context_for_an_unmapped_hub_is_a_lookup_error(hub: Any) -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    with pytest.raises(LookupError) as caught:
        signalr.hub_context(hub)
    assert "/hubs/chat" in str(caught.value)  # says what is mapped


def test_hub_context_outside_an_app_context_with_one_app() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    assert manager_of(signalr.hub_context(ChatHub)) is endpoint(app, "/hubs/chat").manager


def test_hub_context_from_another_thread_with_one_app() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(signalr.hub_context("/hubs/chat")))
    worker.start()
    worker.join(5)
    assert len(found) == 1
    assert manager_of(found[0]) is endpoint(app, "/hubs/chat").manager


def test_hub_context_with_two_apps_needs_an_app_context() -> None:
    signalr = SignalR()
    signalr.map_hub("/hubs/chat", ChatHub)
    first, second = Flask("first"), Flask("second")
    signalr.init_app(first)
    signalr.init_app(second)
    with pytest.raises(RuntimeError) as caught:
        signalr.hub_context(ChatHub)
    text = str(caught.value)
    assert "several apps" in text
    assert "app_context()" in text
    for app in (first, second):
        with app.app_context():
            assert manager_of(signalr.hub_context(ChatHub)) is endpoint(app, "/hubs/chat").manager
            assert (
                manager_of(signalr.hub_context("/hubs/chat")) is endpoint(app, "/hubs/chat").manager
            )


def test_hub_context_inside_a_request() -> None:
    signalr = SignalR()
    signalr.map_hub("/hubs/chat", ChatHub)
    first, second = Flask("first"), Flask("second")
    for app in (first, second):
        signalr.init_app(app)

        @app.post("/broadcast")
        def broadcast() -> str:
            signalr.hub_context(ChatHub).clients.all.send("ReceiveMessage", "view", "hi")
            return "sent"

    for app in (first, second):
        response = app.test_client().post("/broadcast")
        assert response.status_code == 200
        assert response.get_data(as_text=True) == "sent"


def test_hub_context_before_init_app_is_a_runtime_error() -> None:
    signalr = SignalR()
    signalr.map_hub("/hubs/chat", ChatHub)
    with pytest.raises(RuntimeError, match="init_app"):
        signalr.hub_context(ChatHub)


def test_hub_context_inside_an_unrelated_app_context_uses_the_only_app() -> None:
    app = Flask("served")
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    with Flask("other").app_context():
        assert manager_of(signalr.hub_context(ChatHub)) is endpoint(app, "/hubs/chat").manager


def test_two_extensions_on_two_apps_do_not_mix() -> None:
    first, second = Flask("first"), Flask("second")
    one, two = SignalR(first), SignalR(second)
    one.map_hub("/hubs/chat", ChatHub)
    two.map_hub("/hubs/chat", ChatHub)
    with first.app_context():
        assert manager_of(two.hub_context(ChatHub)) is endpoint(second, "/hubs/chat").manager
        assert manager_of(one.hub_context(ChatHub)) is endpoint(first, "/hubs/chat").manager


# -- identity hooks ----------------------------------------------------------------------------


class FakeUser:
    is_authenticated = True

    def get_id(self) -> str:
        return "default-id"


def test_role_checker_decorator_returns_the_function_and_is_used() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)  # mapped before the hook is set

    def checker(user: Any, role: str) -> bool:
        return role == "MAGIC"

    assert signalr.role_checker(checker) is checker
    role_checker = endpoint(app, "/hubs/chat").role_checker
    assert role_checker(FakeUser(), "MAGIC") is True
    assert role_checker(FakeUser(), "ADMIN") is False


def test_user_id_provider_decorator_returns_the_function_and_is_used() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    provider = endpoint(app, "/hubs/chat").user_id_provider
    assert provider(FakeUser()) == "default-id"

    def custom(user: Any) -> str | None:
        return "custom-id"

    assert signalr.user_id_provider(custom) is custom
    assert provider(FakeUser()) == "custom-id"


def test_default_role_checker() -> None:
    app = Flask(__name__)
    signalr = SignalR(app)
    signalr.map_hub("/hubs/chat", ChatHub)
    role_checker = endpoint(app, "/hubs/chat").role_checker

    class WithRoles(FakeUser):
        roles = ("ADMIN",)

    class WithHasRole(FakeUser):
        def has_role(self, role: str) -> bool:
            return role == "OPS"

    assert role_checker(WithRoles(), "ADMIN")
    assert not role_checker(WithRoles(), "OPS")
    assert role_checker(WithHasRole(), "OPS")
    assert not role_checker(WithHasRole(), "ADMIN")
    assert not role_checker(FakeUser(), "ADMIN")
