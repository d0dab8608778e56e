"""Every HubConnection call against the real server, over JSON and MessagePack (in gevent)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.event
import pytest

from client.helpers import WAIT, EventLog, Inbox
from flask_signalr import HubException
from flask_signalr.client import HubConnection, HubConnectionError, HubConnectionState

Make = Callable[..., HubConnection]


# -- invoke -------------------------------------------------------------------------------------


def test_invoke_returns_the_result(make_client: Make) -> None:
    connection = make_client()
    assert connection.state is HubConnectionState.CONNECTED
    assert connection.invoke("Add", 2, 3) == 5
    assert connection.invoke("add", 2, 3) == 5  # hub method names match case-insensitively
    assert connection.invoke("ExplicitName") == "explicit"
    assert connection.invoke("Nothing") is None


def test_invoke_round_trips_values(make_client: Make, protocol: str) -> None:
    connection = make_client()
    value = {"text": "żółć ✓", "list": [1, 2.5, None, True], "nested": {"a": {"b": []}}}
    assert connection.invoke("Echo", value) == value
    assert connection.invoke("Scale", [1, 2], 2.5) == [2.5, 5.0]
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    expected = when if protocol == "messagepack" else "2024-05-06T07:08:09+00:00"
    assert connection.invoke("Echo", when) == expected


def test_invoke_carries_a_large_message_whole(make_client: Make, start_server: Any) -> None:
    big_server = start_server(maximum_receive_message_size=None)
    connection = make_client(target=big_server)
    text = "x" * 600_000  # many socket writes: frames must never be cut or interleaved
    assert connection.invoke("Echo", text) == text


def test_invoke_raises_the_servers_error_text(make_client: Make) -> None:
    connection = make_client()
    with pytest.raises(HubException) as raised:
        connection.invoke("ThrowHubException", "not today")
    assert str(raised.value) == (
        "An unexpected error occurred invoking 'ThrowHubException' on the server. "
        "HubException: not today"
    )
    with pytest.raises(HubException) as raised:
        connection.invoke("Throw")
    assert str(raised.value) == "An unexpected error occurred invoking 'Throw' on the server."
    with pytest.raises(HubException) as raised:
        connection.invoke("NoSuchMethod")
    assert str(raised.value) == (
        "Failed to invoke 'NoSuchMethod' due to an error on the server. "
        "HubException: Method does not exist."
    )
    with pytest.raises(HubException) as raised:
        connection.invoke("Add", "two", 3)
    assert str(raised.value) == "Failed to invoke 'Add' due to an error on the server."
    assert connection.invoke("Add", 1, 1) == 2  # errors never cost the connection


def test_invoke_times_out(make_client: Make) -> None:
    connection = make_client()
    with pytest.raises(TimeoutError):
        connection.invoke("Sleep", 5, timeout=0.1)


def test_a_value_that_cannot_be_encoded_raises_to_the_caller(make_client: Make) -> None:
    connection = make_client()
    with pytest.raises(TypeError):
        connection.invoke("Echo", object())
    with pytest.raises(TypeError):
        connection.send("Echo", object())
    assert connection.invoke("Add", 1, 2) == 3


def test_calls_before_start_and_after_stop_are_refused(make_client: Make) -> None:
    connection = make_client(start=False)
    with pytest.raises(HubConnectionError, match="'Disconnected'"):
        connection.invoke("Add", 1, 2)
    connection.start()
    connection.stop()
    with pytest.raises(HubConnectionError, match="not in the 'Connected' state"):
        connection.send("Record", "late")


def test_an_invocation_waiting_when_the_connection_drops_fails(
    make_client: Make, server: Any
) -> None:
    connection = make_client()
    asked, release = Inbox(), gevent.event.Event()
    connection.on("Ask", lambda question: (asked.put(question), release.wait(WAIT)))
    waiter = gevent.spawn(connection.invoke, "AskCaller", "hold on")
    assert asked.get() == "hold on"  # the server is now inside AskCaller
    server.endpoint("/hubs/test").close_all(reconnect=False)
    with pytest.raises(HubConnectionError, match="underlying connection being closed"):
        waiter.get(timeout=WAIT)
    release.set()


# -- connection id and state ---------------------------------------------------------------------


def test_connection_id_is_the_servers(make_client: Make) -> None:
    connection = make_client()
    assert connection.connection_id
    assert connection.invoke("Whoami")["connectionId"] == connection.connection_id
    connection.stop()
    assert connection.connection_id is None
    assert connection.state is HubConnectionState.DISCONNECTED


def test_start_twice_is_refused_and_restart_after_stop_works(make_client: Make) -> None:
    connection = make_client()
    with pytest.raises(RuntimeError, match="not in the 'Disconnected' state"):
        connection.start()
    first = connection.connection_id
    connection.stop()
    connection.stop()  # idempotent
    connection.start()
    assert connection.connection_id not in (None, first)
    assert connection.invoke("Add", 1, 1) == 2


# -- send, on, off -------------------------------------------------------------------------------


def test_send_is_fire_and_forget_and_handlers_get_the_arguments(make_client: Make) -> None:
    connection = make_client()
    inbox = Inbox()
    connection.on("Receive", inbox)
    connection.send("SendCaller", "hello")
    assert inbox.get() == ("caller", "hello")
    connection.send("Throw")  # no answer at all, not even the error
    assert connection.invoke("Add", 1, 1) == 2


def test_broadcasts_reach_every_client(make_client: Make) -> None:
    first, second = make_client(), make_client()
    inboxes = [Inbox(), Inbox()]
    first.on("Receive", inboxes[0])
    second.on("Receive", inboxes[1])
    second.invoke("SendAll", "to everyone")
    assert [inbox.get() for inbox in inboxes] == [("all", "to everyone")] * 2
    first.invoke("SendOthers", "not me")
    assert inboxes[1].get() == ("others", "not me")


def test_handler_names_match_case_insensitively(make_client: Make) -> None:
    connection = make_client()
    inbox = Inbox()
    connection.on("receive", inbox)
    connection.invoke("SendCaller", "x")
    assert inbox.get() == ("caller", "x")


def test_off_removes_one_handler_or_all(make_client: Make) -> None:
    connection = make_client()
    removed, kept = Inbox(), Inbox()
    connection.on("Receive", removed)
    connection.on("Receive", kept)
    connection.off("Receive", removed)
    connection.invoke("SendCaller", "one")
    assert kept.get() == ("caller", "one")
    assert removed.empty()  # handlers run in order: it would have run before `kept`
    connection.off("Receive")
    connection.on("Ask", lambda question: question)
    connection.invoke("SendCaller", "two")
    # The Ask arrives after the Receive and is handled after it, on the same worker.
    assert connection.invoke("AskCaller", "barrier") == "barrier"
    assert kept.empty()


def test_handlers_run_in_arrival_order_on_one_worker(make_client: Make) -> None:
    connection = make_client()
    inbox = Inbox()
    connection.on("Receive", lambda kind, message: inbox.put((message, gevent.getcurrent())))
    for number in range(20):
        connection.send("SendCaller", str(number))
    received = [inbox.get() for _ in range(20)]
    assert [message for message, _ in received] == [str(n) for n in range(20)]
    workers = {worker for _, worker in received}
    assert len(workers) == 1 and gevent.getcurrent() not in workers


def test_a_handler_may_invoke_the_hub(make_client: Make) -> None:
    connection = make_client()
    inbox = Inbox()
    connection.on("Receive", lambda kind, message: inbox.put(connection.invoke("Add", 20, 22)))
    connection.send("SendCaller", "go")
    assert inbox.get() == 42


def test_a_failing_handler_does_not_stop_the_others(make_client: Make) -> None:
    connection = make_client()
    inbox = Inbox()

    def broken(*args: Any) -> None:
        raise RuntimeError("handler bug")

    connection.on("Receive", broken)
    connection.on("Receive", inbox)
    connection.invoke("SendCaller", "still delivered")
    assert inbox.get() == ("caller", "still delivered")


# -- server-to-client streams -------------------------------------------------------------------


def test_stream_yields_every_item(make_client: Make) -> None:
    connection = make_client()
    assert list(connection.stream("Counter", 5, 0)) == [0, 1, 2, 3, 4]
    assert list(connection.stream("StreamNumbers", 0)) == []


def test_stream_error_arrives_after_the_items(make_client: Make) -> None:
    connection = make_client()
    received = []
    with pytest.raises(HubException) as raised:
        for item in connection.stream("FailingStream", 3):
            received.append(item)
    assert received == [0, 1, 2]
    assert str(raised.value) == "An error occurred on the server while streaming results."
    with pytest.raises(HubException, match="HubException: no more"):
        list(connection.stream("RefusingStream"))
    with pytest.raises(HubException, match="non-streaming 'Add' method"):
        list(connection.stream("Add", 1, 2))


def test_breaking_out_of_a_stream_cancels_it_on_the_server(
    make_client: Make, events: EventLog
) -> None:
    connection = make_client()
    closed = ("stream-closed", connection.connection_id)
    for item in connection.stream("Counter", 1000, 0.01):
        if item == 2:
            break
    events.wait_for(lambda event: event == closed)
    with connection.stream("Counter", 1000, 0.01) as stream:
        assert next(stream) == 0
    events.wait_for(lambda event: event == closed, count=2)
    stream = connection.stream("Counter", 1000, 0.01)
    assert next(stream) == 0
    stream.close()
    events.wait_for(lambda event: event == closed, count=3)
    assert list(stream) == []  # a closed stream yields nothing more
    assert connection.invoke("Add", 1, 1) == 2


def test_an_open_stream_fails_when_the_connection_drops(make_client: Make, server: Any) -> None:
    connection = make_client()
    stream = connection.stream("Counter", 1000, 0.01)
    assert next(stream) == 0
    server.endpoint("/hubs/test").close_all(reconnect=False)
    with pytest.raises(HubConnectionError):
        list(stream)


# -- client-to-server (upload) streams ----------------------------------------------------------


def numbers(count: int) -> Iterator[int]:
    yield from range(1, count + 1)


def test_upload_stream_from_a_generator(make_client: Make) -> None:
    connection = make_client()
    assert connection.invoke("UploadSum", numbers(100)) == 5050
    assert connection.invoke("UploadJoin", "<", iter(["a", "b", "c"]), ">") == "<abc>"
    assert connection.invoke("UploadSum", iter([])) == 0


def test_upload_and_download_in_one_call(make_client: Make) -> None:
    connection = make_client()
    assert list(connection.stream("UploadDoubled", numbers(5))) == [2, 4, 6, 8, 10]


def test_a_failing_upload_source_tells_the_hub_why(make_client: Make) -> None:
    connection = make_client()

    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("sensor unplugged")

    assert connection.invoke("UploadError", broken()) == "client error: sensor unplugged"


def test_send_with_an_upload_stream(make_client: Make, events: EventLog) -> None:
    connection = make_client()
    connection.send("UploadRecord", iter(["x", "y", "z"]))
    assert events.wait_for(lambda event: event[0] == "uploaded") == [("uploaded", ["x", "y", "z"])]


# -- client results -----------------------------------------------------------------------------


def test_a_handlers_return_value_answers_the_server(make_client: Make) -> None:
    connection = make_client()
    connection.on("Ask", lambda question: {"answer": question.upper()})
    assert connection.invoke("AskCaller", "why") == {"answer": "WHY"}


def test_client_result_errors(make_client: Make) -> None:
    asked, asker = make_client(), make_client()

    def refuse(question: str) -> str:
        raise ValueError(f"will not answer {question}")

    asked.on("Ask", refuse)
    outcome = asker.invoke("AskClient", asked.connection_id, "q", 5)
    assert outcome == {"error": "HubException", "message": "will not answer q"}
    asked.off("Ask")
    outcome = asker.invoke("AskClient", asked.connection_id, "q", 5)
    assert outcome == {"error": "HubException", "message": "Client didn't provide a result."}
    asked.on("Ask", lambda question: 1)
    asked.on("Ask", lambda question: 2)
    outcome = asker.invoke("AskClient", asked.connection_id, "q", 5)
    assert outcome == {"error": "HubException", "message": "Client provided multiple results."}


def test_a_client_result_may_come_from_a_slow_handler(make_client: Make) -> None:
    connection = make_client()

    def think(question: str) -> str:
        gevent.sleep(0.05)
        return question * 2

    connection.on("Ask", think)
    assert connection.invoke("AskCaller", "ab") == "abab"


# -- authentication and negotiate options --------------------------------------------------------


def test_access_token_factory_is_sent_on_every_connect(make_client: Make) -> None:
    calls = []

    def token() -> str:
        calls.append(1)
        return "token-kevin"

    connection = make_client("/hubs/secure", access_token_factory=token)
    assert connection.invoke("Whoami") == "kevin"
    connection.stop()
    connection.start()
    assert connection.invoke("Whoami") == "kevin"
    assert len(calls) == 2


def test_headers_reach_the_server(make_client: Make) -> None:
    connection = make_client("/hubs/secure", headers={"Authorization": "Bearer token-bob"})
    assert connection.invoke("Whoami") == "bob"


def test_skip_negotiation_connects_the_websocket_directly(make_client: Make) -> None:
    connection = make_client(
        skip_negotiation=True, transport="WebSockets", access_token_factory=lambda: "token-admin"
    )
    assert connection.connection_id is None  # the server never tells it without negotiate
    whoami = connection.invoke("Whoami")
    assert whoami["userIdentifier"] == "admin"
    assert connection.invoke("Add", 1, 2) == 3


def test_handshake_error_fails_start(make_client: Make, start_server: Any, protocol: str) -> None:
    other = "json" if protocol == "messagepack" else "messagepack"
    json_only = start_server(protocols=(other,))
    connection = make_client(start=False, target=json_only)
    with pytest.raises(HubConnectionError) as raised:
        connection.start()
    assert str(raised.value) == (
        f"Server returned handshake error: The protocol '{protocol}' is not supported."
    )
    assert connection.state is HubConnectionState.DISCONNECTED
