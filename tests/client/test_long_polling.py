"""The client's long-polling transport against the server's, over JSON and MessagePack."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from client.helpers import EventLog, Inbox
from flask_signalr import HubException
from flask_signalr.client import HubConnection, HubConnectionState

from support.server import RunningServer

Make = Callable[..., HubConnection]


@pytest.fixture
def poll_client(make_client: Make) -> Make:
    def make(path: str = "/hubs/test", **options: object) -> HubConnection:
        return make_client(path, transport="LongPolling", **options)

    return make


def numbers() -> Iterator[int]:
    yield from (1, 2, 3)


def test_every_call_over_long_polling(poll_client: Make) -> None:
    connection = poll_client()
    assert connection.invoke("Whoami")["connectionId"] == connection.connection_id
    assert connection.invoke("Add", 2, 3) == 5
    with pytest.raises(HubException, match="HubException: polled"):
        connection.invoke("ThrowHubException", "polled")
    inbox = Inbox()
    connection.on("Receive", inbox)
    connection.send("SendCaller", "by post")
    assert inbox.get() == ("caller", "by post")
    assert list(connection.stream("Counter", 3, 0)) == [0, 1, 2]
    assert connection.invoke("UploadSum", numbers()) == 6
    connection.on("Ask", lambda question: question[::-1])
    assert connection.invoke("AskCaller", "abc") == "cba"


def test_stop_ends_the_connection_on_the_server(poll_client: Make, events: EventLog) -> None:
    connection = poll_client()
    connection_id = connection.connection_id
    closed = Inbox()
    connection.on_close(closed)
    connection.stop()
    assert closed.get() == (None,)
    events.wait_for(lambda event: event[:2] == ("disconnected", connection_id))


def test_server_close_reaches_a_polling_client(poll_client: Make) -> None:
    connection = poll_client()
    closed = Inbox()
    connection.on_close(closed)
    connection.send("AbortMe")
    assert closed.get() == (None,)
    assert connection.state is HubConnectionState.DISCONNECTED


def test_falls_back_to_long_polling_when_websockets_are_off(
    make_client: Make, start_server: Callable[..., RunningServer]
) -> None:
    polling_only = start_server(transports=("LongPolling",))
    connection = make_client(target=polling_only)
    assert connection.invoke("Add", 1, 2) == 3
    endpoint = polling_only.endpoint("/hubs/test")
    (server_side,) = endpoint.registry.active_connections()
    assert server_side.transport.name == "LongPolling"
