"""The official @microsoft/signalr client against every hub API (API.md's "Inside a hub").

Each test runs once per transport x protocol in ``CLIENT_KINDS``. Absence of a message is
proven with a marker: after a targeted send, a broadcast "marker" follows, and per-connection
ordering means a client that got nothing targeted sees the marker first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import pytest
import requests

from support.js import JsConnection, JsError
from support.server import RunningServer

Connect = Callable[..., JsConnection]


def until_marker(client: JsConnection) -> list[list[Any]]:
    """The Receive messages a client got before the next marker broadcast."""
    got = []
    while True:
        args = client.next_message("Receive")
        if args == ["all", "marker"]:
            return got
        got.append(args)


def check_delivery(
    sender: JsConnection, clients: dict[str, JsConnection], expected: set[str], message: list[Any]
) -> None:
    sender.invoke("SendAll", "marker")
    for name, client in clients.items():
        got = until_marker(client)
        assert got == ([message] if name in expected else []), name


@pytest.fixture
def trio(connect: Connect) -> dict[str, JsConnection]:
    return {name: connect("/hubs/test", "Receive") for name in ("a", "b", "c")}


# -- invocations -------------------------------------------------------------------------------


def test_invoke_returns_result(connect: Connect) -> None:
    client = connect()
    assert client.invoke("Add", 2, 3) == 5
    assert client.invoke("Echo", {"nested": [1, "two", None]}) == {"nested": [1, "two", None]}
    assert client.invoke("Scale", [1, 2.5], 2) == [2, 5]


def test_void_method_resolves_with_null(connect: Connect) -> None:
    assert connect().invoke("Nothing") is None


def test_method_names_match_case_insensitively(connect: Connect) -> None:
    client = connect()
    assert [client.invoke(name, 1, 1) for name in ("Add", "add", "ADD")] == [2, 2, 2]
    assert client.invoke("explicitname") == "explicit"


def test_send_runs_without_answer(connect: Connect, server: RunningServer) -> None:
    client = connect()
    client.send("Record", "fired")
    client.invoke("Nothing")  # invocations run in order: the send has run by now
    assert ("record", "fired") in server.app.config["TEST_EVENTS"]


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "text"),
    [
        (
            "Missing",
            [],
            "Failed to invoke 'Missing' due to an error on the server. "
            "HubException: Method does not exist.",
        ),
        ("Add", [1], "Failed to invoke 'Add' due to an error on the server."),
        ("Add", ["x", 2], "Failed to invoke 'Add' due to an error on the server."),
        ("Throw", [], "An unexpected error occurred invoking 'Throw' on the server."),
        (
            "ThrowHubException",
            ["visible"],
            "An unexpected error occurred invoking 'ThrowHubException' on the server. "
            "HubException: visible",
        ),
        (
            "StreamNumbers",
            [3],
            "The client attempted to invoke the streaming 'StreamNumbers' "
            "method with a non-streaming invocation.",
        ),
        ("AdminOnly", [], "Failed to invoke 'AdminOnly' because user is unauthorized"),
        ("SignedInOnly", [], "Failed to invoke 'SignedInOnly' because user is unauthorized"),
    ],
)
def test_errors_have_aspnet_texts_and_keep_the_connection(
    connect: Connect, method: str, args: list[Any], text: str
) -> None:
    client = connect()
    with pytest.raises(JsError) as error:
        client.invoke(method, *args)
    assert str(error.value) == text
    assert client.invoke("Add", 1, 1) == 2


def test_exception_text_never_leaks_by_default(connect: Connect) -> None:
    with pytest.raises(JsError) as error:
        connect().invoke("Throw")
    assert "secret" not in str(error.value)


def test_unserializable_result_is_an_error(connect: Connect) -> None:
    client = connect()
    with pytest.raises(JsError, match="An unexpected error occurred invoking 'BadResult'"):
        client.invoke("BadResult")
    assert client.invoke("Add", 1, 1) == 2


def test_detailed_errors(
    start_server: Callable[..., RunningServer], js: Any, client_kind: tuple[str, str]
) -> None:
    server = start_server(enable_detailed_errors=True)
    transport, protocol = client_kind
    client = js.connect(server.hub_url("/hubs/test"), transport=transport, protocol=protocol)
    with pytest.raises(JsError) as thrown:
        client.invoke("Throw")
    assert str(thrown.value) == (
        "An unexpected error occurred invoking 'Throw' on the server. ValueError: secret detail"
    )
    with pytest.raises(JsError) as bad_count:
        client.invoke("Add", 1)
    assert str(bad_count.value) == (
        "Failed to invoke 'Add' due to an error on the server. "
        "InvalidDataException: Invocation provides 1 argument(s) but target expects 2."
    )
    with pytest.raises(JsError) as bad_type:
        client.invoke("Add", "x", 1)
    assert "InvalidDataException: Error binding arguments." in str(bad_type.value)
    client.stop()


# -- authorization -----------------------------------------------------------------------------


def test_method_roles_with_tokens(connect: Connect) -> None:
    kevin = connect(accessToken="token-kevin")
    assert kevin.invoke("SignedInOnly") == "signed in"
    with pytest.raises(JsError, match="because user is unauthorized"):
        kevin.invoke("AdminOnly")
    assert connect(accessToken="token-admin").invoke("AdminOnly") == "admin ok"


def test_authorized_hub_refuses_anonymous(connect: Connect) -> None:
    with pytest.raises(JsError, match="401"):
        connect("/hubs/secure")
    assert connect("/hubs/secure", accessToken="token-kevin").invoke("Whoami") == "kevin"


def test_hub_roles(connect: Connect) -> None:
    with pytest.raises(JsError, match="403"):
        connect("/hubs/admin", accessToken="token-kevin")
    assert connect("/hubs/admin", accessToken="token-admin").invoke("Ping") == "pong"


def test_cookie_session_identifies_user(connect: Connect, server: RunningServer) -> None:
    session = requests.Session()
    session.post(server.url + "/login/kevin").raise_for_status()
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    client = connect("/hubs/secure", headers={"Cookie": cookie})
    assert client.invoke("Whoami") == "kevin"


# -- context -----------------------------------------------------------------------------------


def test_context_identity_and_flask(connect: Connect) -> None:
    client = connect(accessToken="token-kevin")
    me = client.invoke("Whoami")
    assert me == {
        "connectionId": client.connection_id,
        "userIdentifier": "kevin",
        "authenticated": True,
        "currentUser": "kevin",
        "app": "interop",
        "path": "/hubs/test",
    }
    anonymous = connect().invoke("Whoami")
    assert anonymous["userIdentifier"] is None and anonymous["authenticated"] is False


def test_items_live_with_the_connection(connect: Connect) -> None:
    first, second = connect(), connect()
    assert first.invoke("GetItem", "connected_at") == "on_connected"
    first.invoke("SetItem", "k", [1, 2])
    assert first.invoke("GetItem", "k") == [1, 2]
    assert second.invoke("GetItem", "k") is None


def test_app_teardown_runs_after_every_call(connect: Connect, server: RunningServer) -> None:
    client = connect()
    client.invoke("MarkForTeardown", "first")
    client.invoke("MarkForTeardown", "second")
    teardowns = [e for e in server.app.config["TEST_EVENTS"] if e[0] == "teardown"]
    assert teardowns == [("teardown", "first"), ("teardown", "second")]


def test_flask_g_is_fresh_for_every_call(connect: Connect) -> None:
    client = connect()
    assert client.invoke("GIsFresh") is True
    assert client.invoke("GIsFresh") is True


# -- targets -----------------------------------------------------------------------------------


def test_all_caller_others(trio: dict[str, JsConnection]) -> None:
    a = trio["a"]
    a.invoke("SendAll", "x")
    check_delivery(a, trio, {"a", "b", "c"}, ["all", "x"])
    a.invoke("SendCaller", "x")
    check_delivery(a, trio, {"a"}, ["caller", "x"])
    a.invoke("SendOthers", "x")
    check_delivery(a, trio, {"b", "c"}, ["others", "x"])


def test_connection_targets(trio: dict[str, JsConnection]) -> None:
    a, b, c = trio["a"], trio["b"], trio["c"]
    a.invoke("SendAllExcept", [b.connection_id, c.connection_id], "x")
    check_delivery(a, trio, {"a"}, ["all_except", "x"])
    a.invoke("SendClient", c.connection_id, "x")
    check_delivery(a, trio, {"c"}, ["client", "x"])
    a.invoke("SendClients", [b.connection_id, c.connection_id, b.connection_id], "x")
    check_delivery(a, trio, {"b", "c"}, ["clients", "x"])


def test_user_targets_reach_every_connection_of_a_user(connect: Connect) -> None:
    clients = {
        "kevin1": connect("/hubs/test", "Receive", accessToken="token-kevin"),
        "kevin2": connect("/hubs/test", "Receive", accessToken="token-kevin"),
        "bob": connect("/hubs/test", "Receive", accessToken="token-bob"),
        "anon": connect("/hubs/test", "Receive"),
    }
    sender = clients["anon"]
    sender.invoke("SendUser", "kevin", "x")
    check_delivery(sender, clients, {"kevin1", "kevin2"}, ["user", "x"])
    sender.invoke("SendUsers", ["kevin", "bob", "nobody"], "x")
    check_delivery(sender, clients, {"kevin1", "kevin2", "bob"}, ["users", "x"])


def test_group_targets(trio: dict[str, JsConnection]) -> None:
    a, b, c = trio["a"], trio["b"], trio["c"]
    a.invoke("Join", "orange")
    b.invoke("Join", "orange")
    c.invoke("Join", "green")
    b.invoke("Join", "green")
    c.invoke("SendGroup", "orange", "x")
    check_delivery(c, trio, {"a", "b"}, ["group", "x"])
    a.invoke("SendGroups", ["orange", "green"], "x")  # b is in both: it gets one copy
    check_delivery(a, trio, {"a", "b", "c"}, ["groups", "x"])
    c.invoke("SendGroupExcept", "orange", [a.connection_id], "x")
    check_delivery(c, trio, {"b"}, ["group_except", "x"])
    a.invoke("SendOthersInGroup", "orange", "x")
    check_delivery(a, trio, {"b"}, ["others_in_group", "x"])
    b.invoke("Leave", "orange")
    a.invoke("SendGroup", "orange", "x")
    check_delivery(a, trio, {"a"}, ["group", "x"])


def test_groups_of_another_connection(trio: dict[str, JsConnection]) -> None:
    a, b = trio["a"], trio["b"]
    a.invoke("AddToGroup", b.connection_id, "yellow")
    a.invoke("SendGroup", "yellow", "x")
    check_delivery(a, trio, {"b"}, ["group", "x"])
    a.invoke("RemoveFromGroup", b.connection_id, "yellow")
    a.invoke("SendGroup", "yellow", "x")
    check_delivery(a, trio, set(), ["group", "x"])


def test_sending_to_a_departed_connection_is_quiet(connect: Connect) -> None:
    gone = connect()
    gone_id = gone.connection_id
    gone.stop()
    client = connect()
    assert client.invoke("SendClient", gone_id, "x") is None
    assert client.invoke("AddToGroup", gone_id, "g") is None


def test_hub_context_from_a_view(trio: dict[str, JsConnection], server: RunningServer) -> None:
    for client in trio.values():
        client.on("FromView")
    trio["b"].invoke("Join", "blue")
    requests.post(server.url + "/api/broadcast", json={"message": "hi"}).raise_for_status()
    for client in trio.values():
        assert client.next_message("FromView") == ["hi"]
    requests.post(server.url + "/api/group/blue").raise_for_status()
    assert trio["b"].next_message("FromView") == ["blue"]


def test_hub_context_from_a_greenlet(connect: Connect, server: RunningServer) -> None:
    from support.apps import TestHub

    client = connect("/hubs/test", "Receive")
    gevent.spawn(server.signalr.hub_context(TestHub).clients.all.send, "Receive", "bg", 1).join()
    assert client.next_message("Receive") == ["bg", 1]


# -- lifecycle ---------------------------------------------------------------------------------


def test_lifecycle_hooks(connect: Connect, server: RunningServer) -> None:
    watcher = connect("/hubs/test", "Departed")
    client = connect()
    client_id = client.connection_id
    client.invoke("Join", "room")
    assert ("connected", client_id) in server.app.config["TEST_EVENTS"]
    client.stop()
    assert watcher.next_message("Departed") == [client_id]
    assert ("disconnected", client_id, None) in server.app.config["TEST_EVENTS"]
    manager = server.endpoint("/hubs/test").manager
    assert manager.group_names() == []
    assert manager.connection_count() == 1


def test_abort_closes_without_reconnect(connect: Connect, server: RunningServer) -> None:
    client = connect(reconnect=True)
    client_id = client.connection_id
    client.send("AbortMe")
    close = client.next_event("close")
    assert close["error"] is None
    assert client.state()["state"] == "Disconnected"
    assert ("disconnected", client_id, None) in server.app.config["TEST_EVENTS"]


def test_on_connected_failure_closes_with_error(
    js: Any, server: RunningServer, client_kind: tuple[str, str]
) -> None:
    transport, protocol = client_kind
    try:
        client = js.connect(
            server.hub_url("/hubs/explode"), transport=transport, protocol=protocol, reconnect=True
        )
    except JsError as refused:
        error = str(refused)
    else:
        error = client.next_event("close")["error"]
    assert "Server returned an error on close: Connection closed with an error." in error
    assert ("exploding-disconnected",) not in server.app.config["TEST_EVENTS"]


def test_skip_negotiation(js: Any, server: RunningServer, client_kind: tuple[str, str]) -> None:
    client = js.connect(
        server.hub_url("/hubs/test"),
        transport="WebSockets",
        protocol=client_kind[1],
        skipNegotiation=True,
    )
    assert client.connection_id is None
    assert client.invoke("Add", 20, 22) == 42
    assert client.invoke("Whoami")["connectionId"]
    client.stop()


def test_parallel_invocations_limit(start_server: Callable[..., RunningServer], js: Any) -> None:
    def overlap(server: RunningServer) -> float:
        client = js.connect(server.hub_url("/hubs/test"))
        started = gevent.get_hub().loop.now()
        calls = [gevent.spawn(client.invoke, "Sleep", 0.3) for _ in range(2)]
        gevent.joinall(calls, raise_error=True)
        elapsed = gevent.get_hub().loop.now() - started
        client.stop()
        return elapsed

    assert overlap(start_server()) >= 0.6  # one at a time by default
    assert overlap(start_server(maximum_parallel_invocations_per_client=2)) < 0.55


def test_no_client_errors_logged(connect: Connect) -> None:
    client = connect("/hubs/test", "Receive")
    client.invoke("SendAll", "x")
    client.next_message("Receive")
    client.stop()
    assert client.errors_logged() == []
