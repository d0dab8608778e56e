"""The in-process test client (``signalr.test_client``) on the interop app's hubs, no server."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from client.helpers import EventLog, Inbox
from flask_signalr import HubException, SignalR
from flask_signalr.client import HttpError, HubConnectionError, HubConnectionState
from flask_signalr.testing import HubTestClient

from support.apps import USERS

Make = Callable[..., HubTestClient]
App = tuple[Flask, SignalR, EventLog]


def test_invoke_and_errors_match_the_wire(test_client: Make) -> None:
    client = test_client()
    assert client.state is HubConnectionState.CONNECTED
    assert client.invoke("Add", 2, 3) == 5
    assert client.invoke("add", 2, 3) == 5
    with pytest.raises(HubException) as raised:
        client.invoke("ThrowHubException", "nope")
    assert str(raised.value) == (
        "An unexpected error occurred invoking 'ThrowHubException' on the server. "
        "HubException: nope"
    )
    with pytest.raises(HubException) as raised:
        client.invoke("Throw")
    assert str(raised.value) == "An unexpected error occurred invoking 'Throw' on the server."
    with pytest.raises(HubException) as raised:
        client.invoke("Missing")
    assert str(raised.value) == (
        "Failed to invoke 'Missing' due to an error on the server. "
        "HubException: Method does not exist."
    )
    with pytest.raises(HubException) as raised:
        client.invoke("Add", "two", 3)  # binding, as over the wire
    assert str(raised.value) == "Failed to invoke 'Add' due to an error on the server."
    with pytest.raises(HubException) as raised:
        client.invoke("AdminOnly")
    assert str(raised.value) == "Failed to invoke 'AdminOnly' because user is unauthorized"


def test_values_go_through_the_codec(test_client: Make) -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert test_client().invoke("Echo", (1, 2)) == [1, 2]  # JSON has no tuples
    assert test_client().invoke("Echo", when) == "2024-01-02T03:04:05+00:00"
    assert test_client(protocol="messagepack").invoke("Echo", when) == when


def test_user_and_flask_context(test_client: Make) -> None:
    client = test_client(user=USERS["kevin"])
    whoami = client.invoke("Whoami")
    assert whoami == {
        "connectionId": client.connection_id,
        "userIdentifier": "kevin",
        "authenticated": True,
        "currentUser": "kevin",
        "app": "interop",
        "path": "/hubs/test",
    }
    assert client.invoke("GIsFresh") is True
    assert client.invoke("GIsFresh") is True  # a new request context per call
    client.invoke("SetItem", "color", "orange")
    assert client.invoke("GetItem", "color") == "orange"
    anonymous = test_client()
    assert anonymous.invoke("Whoami")["userIdentifier"] is None
    assert test_client(user=USERS["admin"]).invoke("AdminOnly") == "admin ok"


def test_request_loader_runs_on_headers(test_client: Make) -> None:
    client = test_client("/hubs/secure", headers={"Authorization": "Bearer token-bob"})
    assert client.invoke("Whoami") == "bob"


def test_hub_authorization_refuses_like_negotiate(test_client: Make) -> None:
    with pytest.raises(HttpError) as raised:
        test_client("/hubs/secure")
    assert raised.value.status_code == 401
    with pytest.raises(HttpError) as raised:
        test_client("/hubs/admin", user=USERS["kevin"])
    assert raised.value.status_code == 403
    assert test_client("/hubs/admin", user=USERS["admin"]).invoke("Ping") == "pong"


def test_received_and_handlers_are_up_to_date_when_invoke_returns(test_client: Make) -> None:
    client = test_client()
    calls: list[tuple[Any, ...]] = []
    client.on("Receive", lambda *args: calls.append(args))
    client.invoke("SendCaller", "one")
    assert client.received == [("Receive", ["caller", "one"])]
    assert calls == [("caller", "one")]


def test_broadcasts_groups_and_hub_context_reach_test_clients(
    test_client: Make, hub_app: App
) -> None:
    first, second = test_client(), test_client()
    second.invoke("Join", "blue")
    first.invoke("SendGroup", "blue", "to blue")
    first.invoke("SendAll", "to all")
    hub_app[1].hub_context("/hubs/test").clients.all.send("FromView", "from a view")
    second.invoke("Add", 0, 0)  # everything sent before this answer has been received
    assert second.received == [
        ("Receive", ["group", "to blue"]),
        ("Receive", ["all", "to all"]),
        ("FromView", ["from a view"]),
    ]
    assert ("Receive", ["group", "to blue"]) not in first.received


def test_send_is_fire_and_forget(test_client: Make, hub_app: App) -> None:
    client = test_client()
    client.send("Record", "sent")
    hub_app[2].wait_for(lambda event: event == ("record", "sent"))


def test_streams_both_ways(test_client: Make, hub_app: App) -> None:
    client = test_client()
    assert list(client.stream("Counter", 4, 0)) == [0, 1, 2, 3]
    for item in client.stream("Counter", 1000, 0.01):
        if item == 1:
            break
    hub_app[2].wait_for(lambda event: event == ("stream-closed", client.connection_id))
    assert client.invoke("UploadSum", iter(range(5))) == 10
    assert list(client.stream("UploadDoubled", iter([1, 2]))) == [2, 4]
    with pytest.raises(HubException, match="HubException: no more"):
        list(client.stream("RefusingStream"))


def test_client_results(test_client: Make) -> None:
    client = test_client()
    client.on("Ask", lambda question: f"yes, {question}")
    assert client.invoke("AskCaller", "really?") == "yes, really?"
    other = test_client()
    outcome = client.invoke("AskClient", other.connection_id, "q", 5)
    assert outcome == {"error": "HubException", "message": "Client didn't provide a result."}


def test_filters_run(hub_app: App, test_client: Make) -> None:
    client = test_client("/hubs/filtered")
    for _ in range(3):
        assert client.invoke("Echo", 1) == 1
    with pytest.raises(HubException, match=r"Too many calls; slow down\."):
        client.invoke("Echo", 1)
    assert ("filter", "hub", "before", "Echo") in hub_app[2]


def test_close_runs_on_disconnected(test_client: Make, hub_app: App) -> None:
    client = test_client()
    connection_id = client.connection_id
    assert ("connected", connection_id) in hub_app[2]
    client.close()
    assert ("disconnected", connection_id, None) in hub_app[2]
    assert client.state is HubConnectionState.DISCONNECTED
    with pytest.raises(HubConnectionError):
        client.invoke("Add", 1, 1)


def test_server_abort_closes_the_test_client(test_client: Make, hub_app: App) -> None:
    client = test_client()
    closed = Inbox()
    client.on_close(closed)
    client.send("AbortMe")
    assert closed.get() == (None,)
    assert ("disconnected", client.connection_id, None) in hub_app[2] or hub_app[2].wait_for(
        lambda event: event[0] == "disconnected"
    )


def test_on_connected_failure(hub_app: App) -> None:
    with pytest.raises(HubConnectionError) as raised:
        HubTestClient(hub_app[0], "/hubs/explode")
    assert str(raised.value.__cause__) == (
        "Server returned an error on close: Connection closed with an error."
    )


def test_unknown_path_and_app_without_signalr(hub_app: App) -> None:
    with pytest.raises(LookupError, match="/hubs/test"):
        HubTestClient(hub_app[0], "/hubs/nope")
    with pytest.raises(RuntimeError, match="SignalR is not initialised"):
        HubTestClient(Flask("bare"), "/hubs/test")


def test_context_manager(hub_app: App) -> None:
    with HubTestClient(hub_app[0], "/hubs/test") as client:
        assert client.invoke("Add", 1, 1) == 2
    assert client.state is HubConnectionState.DISCONNECTED
