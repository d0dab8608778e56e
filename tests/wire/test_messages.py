"""Hub messages after the handshake: framing, completions, bad input (PROTOCOL.md §5-§7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.raw import RS, TEXT, RawHub, record
from support.server import RunningServer
from support.waiting import wait_until

Raw = Callable[..., RawHub]

CLOSED_WITH_ERROR = {
    "type": 7,
    "error": "Connection closed with an error.",
    "allowReconnect": True,
}


def add(invocation_id: str, a: int, b: int) -> dict[str, object]:
    return {"type": 1, "invocationId": invocation_id, "target": "Add", "arguments": [a, b]}


def test_completion_bytes_are_exact(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_records(add("1", 1, 2))
    frame = client.next_frame()
    assert frame.opcode == TEXT
    assert frame.data == b'{"type":3,"invocationId":"1","result":3}\x1e'


def test_void_method_completes_with_result_null(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_records({"type": 1, "invocationId": "1", "target": "Nothing", "arguments": []})
    assert client.next_frame().data == b'{"type":3,"invocationId":"1","result":null}\x1e'


def test_several_records_in_one_frame_are_all_processed(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_records({"type": 6}, add("a", 1, 1), add("b", 2, 2), add("c", 3, 3))
    completions = [client.next_message() for _ in range(3)]
    assert sorted((c["invocationId"], c["result"]) for c in completions) == [
        ("a", 2),
        ("b", 4),
        ("c", 6),
    ]


def test_one_record_split_across_frames_is_reassembled(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    data = record(add("1", 20, 22))
    client.send(data[:7])
    client.send(data[7:25])
    client.send(data[25:])
    assert client.next_message() == {"type": 3, "invocationId": "1", "result": 42}


def test_record_boundary_inside_a_frame_carries_over(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    first, second = record(add("1", 1, 1)), record(add("2", 2, 2))
    client.send(first + second[:10])
    client.send(second[10:])
    results = {m["invocationId"]: m["result"] for m in (client.next_message() for _ in range(2))}
    assert results == {"1": 2, "2": 4}


def test_fragmented_websocket_message_is_reassembled(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    data = record(add("1", 5, 5))
    client.send_fragmented([data[:5], data[5:12], data[12:]])
    assert client.next_message() == {"type": 3, "invocationId": "1", "result": 10}


@pytest.mark.parametrize(
    "invocation",
    [
        {"type": 1, "target": "NoSuchMethod", "arguments": []},
        {"type": 1, "target": "Throw", "arguments": []},
        {"type": 1, "target": "Add", "arguments": [1]},
        {"type": 1, "target": "Add", "arguments": ["x", "y"]},
        {"type": 1, "target": "ThrowHubException", "arguments": ["told you"]},
        {"type": 1, "target": "AdminOnly", "arguments": []},
        {"type": 1, "target": "StreamNumbers", "arguments": [3]},
        {"type": 1, "invocationId": None, "target": "Throw", "arguments": []},
        {"type": 1, "invocationId": "", "target": "Throw", "arguments": []},
    ],
    ids=[
        "unknown-method",
        "throwing-method",
        "wrong-count",
        "wrong-type",
        "hub-exception",
        "unauthorized",
        "streaming-method",
        "null-id",
        "empty-id",
    ],
)
def test_non_blocking_invocation_never_gets_a_completion(
    server: RunningServer, raw: Raw, invocation: dict[str, object]
) -> None:
    client = raw(server).connect()
    client.send_records(invocation)
    # Had the server answered the first call, that answer would come before this one.
    assert client.invoke("Add", 1, 2) == {"type": 3, "invocationId": "1", "result": 3}


def test_non_blocking_invocation_runs(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_invocation("Record", "fire-and-forget", blocking=False)
    assert client.invoke("Add", 1, 1)["result"] == 2
    events = server.app.config["TEST_EVENTS"]
    wait_until(lambda: ("record", "fire-and-forget") in events, what="the call to run")


def test_blocking_errors_are_completions_and_the_connection_stays(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server).connect()
    assert client.invoke("NoSuchMethod") == {
        "type": 3,
        "invocationId": "1",
        "error": "Failed to invoke 'NoSuchMethod' due to an error on the server. "
        "HubException: Method does not exist.",
    }
    assert client.invoke("Throw")["error"] == (
        "An unexpected error occurred invoking 'Throw' on the server."
    )
    assert client.invoke("Add", 1, 1)["result"] == 2


def test_unknown_message_type_is_ignored(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_records({"type": 99, "whatever": [1, 2, 3]})
    assert client.invoke("Add", 2, 3)["result"] == 5


def test_unknown_properties_and_headers_are_ignored(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    message = add("1", 2, 2) | {"headers": {"Authorization": "Bearer x"}, "future": {"a": 1}}
    client.send_records(message)
    assert client.next_message() == {"type": 3, "invocationId": "1", "result": 4}


def test_pings_from_the_client_get_no_answer(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_records({"type": 6}, {"type": 6})
    client.send_records(add("1", 1, 2))
    # Keep-alive is 15 s here, so the server has no ping of its own to send yet.
    assert client.next_message(skip_pings=False) == {"type": 3, "invocationId": "1", "result": 3}


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json" + RS,
        b"[1,2,3]" + RS,
        b'{"target":"Add","arguments":[1,2],"invocationId":"1"}' + RS,
        b'{"type":1,"target":"Add","invocationId":"1"}' + RS,
        b'{"type":1,"arguments":[],"invocationId":"1"}' + RS,
        b'{"type":"1","target":"Add","arguments":[1,2]}' + RS,
        b'{"type":1,"target":"Add","arguments":{"a":1}}' + RS,
        b"\xff\xfe" + RS,
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "missing-type",
        "missing-arguments",
        "missing-target",
        "string-type",
        "arguments-not-array",
        "invalid-utf8",
    ],
)
def test_bad_input_closes_with_an_error_close_message(
    server: RunningServer, raw: Raw, payload: bytes
) -> None:
    client = raw(server).connect()
    if payload.startswith(b"\xff"):
        client.send(payload, 0x2)  # invalid UTF-8 cannot travel in a text frame
    else:
        client.send(payload)
    messages, close = client.read_until_closed()
    assert messages == [CLOSED_WITH_ERROR]
    assert close.close_code == 1000
    assert client.socket_ends()


def test_record_larger_than_the_limit_closes_with_an_error(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024)
    client = raw(server).connect()
    client.send_records({"type": 1, "target": "Echo", "arguments": ["x" * 2000]})
    messages, close = client.read_until_closed()
    assert messages == [CLOSED_WITH_ERROR]
    assert close.close_code == 1000
    assert client.socket_ends()


def test_unterminated_record_beyond_the_limit_closes_without_waiting_for_the_end(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024)
    client = raw(server).connect()
    client.send(b'{"type":1,"target":"Echo","arguments":["' + b"x" * 1100)
    messages, close = client.read_until_closed()
    assert messages == [CLOSED_WITH_ERROR]
    assert close.close_code == 1000


def test_the_limit_is_per_record_not_per_frame(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024)
    client = raw(server).connect()
    messages = [
        {"type": 1, "invocationId": str(n), "target": "Echo", "arguments": ["y" * 600]}
        for n in range(4)
    ]
    client.send_records(*messages)  # 4 records of ~660 bytes in one 2.6 kB frame
    answers = [client.next_message() for _ in range(4)]
    assert sorted(answer["invocationId"] for answer in answers) == ["0", "1", "2", "3"]
    assert all(answer["result"] == "y" * 600 for answer in answers)


def test_record_of_exactly_the_limit_is_accepted(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024)
    client = raw(server).connect()
    head = b'{"type":1,"invocationId":"1","target":"Echo","arguments":["'
    tail = b'"]}'
    body = head + b"z" * (1024 - len(head) - len(tail)) + tail
    assert len(body) == 1024
    client.send(body + RS)
    assert client.next_message()["result"] == "z" * (1024 - len(head) - len(tail))


def test_detailed_errors_explain_the_oversize_close(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024, enable_detailed_errors=True)
    client = raw(server).connect()
    client.send_records({"type": 1, "target": "Echo", "arguments": ["x" * 2000]})
    messages, _close = client.read_until_closed()
    assert len(messages) == 1
    close = messages[0]
    assert close["type"] == 7
    assert close["allowReconnect"] is True
    assert close["error"].startswith("Connection closed with an error. ")
    assert "InvalidDataException: The maximum message size of 1024B was exceeded" in close["error"]


def test_one_clients_garbage_does_not_affect_others(server: RunningServer, raw: Raw) -> None:
    good, bad = raw(server).connect(), raw(server).connect()
    bad_id = bad.result("Whoami")["connectionId"]
    good.send_invocation("Sleep", 0.2)  # an invocation in flight while the other one breaks

    bad.send(b"garbage" + RS)
    messages, _close = bad.read_until_closed()
    assert messages == [CLOSED_WITH_ERROR]

    # The bad client's on_disconnected says goodbye to everyone still connected.
    departed = good.next_message()
    completion_or_departed = [departed, good.next_message()]
    assert {"type": 3, "invocationId": "1", "result": 0.2} in completion_or_departed
    assert {"type": 1, "target": "Departed", "arguments": [bad_id]} in completion_or_departed
    assert good.invoke("Add", 1, 2)["result"] == 3
    assert server.endpoint("/hubs/test").registry.active_count() == 1
