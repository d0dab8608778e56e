"""Streams both ways, client results, typed hubs and filters with the official JS client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import pytest

from support.js import JsConnection, JsError
from support.server import RunningServer
from support.waiting import wait_until

Connect = Callable[..., JsConnection]


# -- server-to-client streams ------------------------------------------------------------------


def test_stream_items_then_completion(connect: Connect) -> None:
    client = connect()
    stream = client.stream("Counter", 5, 0)
    assert client.stream_items(stream) == ([0, 1, 2, 3, 4], None)


def test_cancel_closes_the_generator(connect: Connect, server: RunningServer) -> None:
    client = connect()
    stream = client.stream("Counter", 1000, 0.02)
    assert client.next_event("stream-item", stream=stream)["item"] == 0
    client.cancel(stream)
    closed = ("stream-closed", client.connection_id)
    wait_until(lambda: closed in server.app.config["TEST_EVENTS"])
    assert client.invoke("Add", 1, 2) == 3


def test_stream_error_after_items(connect: Connect) -> None:
    client = connect()
    items, error = client.stream_items(client.stream("FailingStream", 2))
    assert items == [0, 1]
    assert error == "An error occurred on the server while streaming results."
    _, hub_error = client.stream_items(client.stream("RefusingStream"))
    assert hub_error == (
        "An error occurred on the server while streaming results. HubException: no more"
    )


def test_stream_and_invocation_mode_errors(connect: Connect) -> None:
    client = connect()
    _, error = client.stream_items(client.stream("Add", 1, 2))
    assert error == (
        "The client attempted to invoke the non-streaming 'Add' method with a streaming invocation."
    )


def test_streams_run_beside_other_invocations(connect: Connect) -> None:
    client = connect()
    stream = client.stream("Counter", 3, 0.3)
    assert client.invoke("Add", 2, 2) == 4  # answered while the stream is still producing
    assert client.stream_items(stream) == ([0, 1, 2], None)


# -- client-to-server streams ------------------------------------------------------------------


def upload(
    client: JsConnection, method: str, args: list[Any], items: list[Any], error: str | None = None
) -> Any:
    name = f"{client.name}-u{len(items)}-{method}"
    client.driver.call("upload", conn=client.name, method=method, args=args, upload=name)
    for item in items:
        client.driver.call("uploadNext", upload=name, item=item)
    if error is None:
        client.driver.call("uploadComplete", upload=name)
    else:
        client.driver.call("uploadError", upload=name, error=error)
    outcome = client.next_event("upload-result", upload=name)
    if "error" in outcome:
        raise JsError(outcome["error"])
    return outcome["result"]


def test_upload_stream(connect: Connect) -> None:
    client = connect()
    assert upload(client, "UploadSum", [{"$subject": True}], [1, 2, 3, 4]) == 10
    assert upload(client, "UploadJoin", ["<", {"$subject": True}, ">"], ["a", "b"]) == "<ab>"


def test_upload_error_reaches_the_hub(connect: Connect) -> None:
    client = connect()
    result = upload(client, "UploadError", [{"$subject": True}], [1], error="boom")
    assert result.startswith("client error: ")
    assert "boom" in result


def test_upload_stream_count_mismatch(connect: Connect) -> None:
    with pytest.raises(JsError) as error:
        connect().invoke("UploadSum")
    assert str(error.value) == (
        "An unexpected error occurred invoking 'UploadSum' on the server. "
        "HubException: Client sent 0 stream(s), Hub method expects 1."
    )


def test_upload_back_pressure_and_many_items(connect: Connect) -> None:
    client = connect()
    assert upload(client, "UploadSum", [{"$subject": True}], list(range(200))) == sum(range(200))


# -- client results ----------------------------------------------------------------------------


def test_caller_result_with_one_invocation_at_a_time(connect: Connect) -> None:
    client = connect(results={"Ask": 42})
    client.on("Ask", results={"Ask": 42})
    assert client.invoke("AskCaller", "question") == 42


def test_client_results_between_connections(connect: Connect) -> None:
    asker = connect()
    answerer = connect()
    answerer.on("Ask", results={"Ask": {"answer": [1, 2]}})
    assert asker.invoke("AskClient", answerer.connection_id, "q", 5) == {
        "result": {"answer": [1, 2]}
    }


def test_client_result_errors(connect: Connect) -> None:
    asker = connect()
    thrower = connect()
    thrower.on("Ask", results={"Ask": {"$throw": "nope"}})
    assert asker.invoke("AskClient", thrower.connection_id, "q", 5) == {
        "error": "HubException",
        "message": "Error: nope",
    }
    silent = connect()  # no handler at all
    assert asker.invoke("AskClient", silent.connection_id, "q", 5) == {
        "error": "HubException",
        "message": "Client didn't provide a result.",
    }


def test_client_result_timeout_and_gone_client(connect: Connect) -> None:
    asker = connect()
    slow = connect()
    slow.on("Ask", results={"Ask": {"$delay": 2000, "value": 1}})
    outcome = asker.invoke("AskClient", slow.connection_id, "q", 0.2)
    assert outcome["error"] == "TimeoutError"
    gone = connect()
    gone_id = gone.connection_id
    gone.stop()
    assert asker.invoke("AskClient", gone_id, "q", 5)["error"] == "ConnectionLostError"


def test_client_result_when_the_client_leaves_mid_call(connect: Connect) -> None:
    asker = connect()
    leaving = connect()
    leaving.on("Ask", results={"Ask": {"$delay": 5000, "value": 1}})
    call = gevent.spawn(asker.invoke, "AskClient", leaving.connection_id, "q", 30)
    leaving.next_message("Ask")
    leaving.stop()
    assert call.get(timeout=5) == {
        "error": "ConnectionLostError",
        "message": f"Connection '{leaving.connection_id}' disconnected.",
    }


def test_invoke_needs_a_single_client(connect: Connect) -> None:
    assert connect().invoke("AskAll").startswith("invoke() needs exactly one client")


# -- typed hubs --------------------------------------------------------------------------------


def test_typed_hub_sends_camel_case_and_exact_names(connect: Connect) -> None:
    client = connect("/hubs/typed", "receiveMessage", "Exact_Name")
    client.invoke("Say", "ann", "hi")
    assert client.next_message("receiveMessage") == ["ann", "hi"]
    client.invoke("Exact", 7)
    assert client.next_message("Exact_Name") == [7]


def test_typed_hub_client_result(connect: Connect) -> None:
    client = connect("/hubs/typed")
    client.on("getAnswer", results={"getAnswer": 41})
    assert client.invoke("Ask") == 42


# -- filters -----------------------------------------------------------------------------------


def test_filters_wrap_calls_in_order(connect: Connect, server: RunningServer) -> None:
    client = connect("/hubs/filtered")
    assert client.invoke("Echo", "x") == "x"
    events = [e for e in server.app.config["TEST_EVENTS"] if e[0] in ("filter", "filtered-hub")]
    assert events == [
        ("filter", "global", "connected"),
        ("filter", "hub", "connected"),
        ("filtered-hub", "connected"),
        ("filter", "global", "before", "Echo"),
        ("filter", "hub", "before", "Echo"),
        ("filtered-hub", "echo"),
        ("filter", "hub", "after", "Echo"),
        ("filter", "global", "after", "Echo"),
    ]
    client.stop()
    wait_until(lambda: ("filter", "hub", "disconnected") in server.app.config["TEST_EVENTS"])


def test_filter_can_short_circuit(connect: Connect, server: RunningServer) -> None:
    client = connect("/hubs/filtered")
    assert [client.invoke("Echo", n) for n in range(3)] == [0, 1, 2]
    with pytest.raises(JsError) as error:
        client.invoke("Echo", 3)
    assert str(error.value) == (
        "An unexpected error occurred invoking 'Echo' on the server. "
        "HubException: Too many calls; slow down."
    )
    echoes = [e for e in server.app.config["TEST_EVENTS"] if e == ("filtered-hub", "echo")]
    assert len(echoes) == 3
