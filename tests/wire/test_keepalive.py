"""Keep-alive pings, client timeouts and how connections end (PROTOCOL.md §10, §11)."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent

from support.raw import TEXT, RawHub, handshake_record
from support.server import RunningServer
from support.waiting import wait_until

Raw = Callable[..., RawHub]


def disconnect_event(server: RunningServer, connection_id: str) -> tuple[str, str, str | None]:
    """Wait for the hub's on_disconnected record for ``connection_id`` and return it."""
    events = server.app.config["TEST_EVENTS"]

    def find() -> tuple[str, str, str | None] | None:
        return next(
            (e for e in events if e[0] == "disconnected" and e[1] == connection_id),
            None,
        )

    return wait_until(find, what=f"on_disconnected of {connection_id}")


def test_server_sends_pings_at_the_keep_alive_interval(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(keep_alive_interval=0.2)
    client = raw(server).connect()
    started = time.monotonic()
    first = client.next_frame(timeout=2)
    assert first.opcode == TEXT
    assert first.data == b'{"type":6}\x1e'
    second = client.next_frame(timeout=2)
    assert second.data == b'{"type":6}\x1e'
    # Two pings 0.2 s apart (the clock ticks every 0.05 s): well under the 15 s default.
    assert time.monotonic() - started < 1.5


def test_messagepack_ping_is_the_framed_array_6(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(keep_alive_interval=0.2)
    client = raw(server).connect(protocol="messagepack")
    ping = client.next_frame(timeout=2)
    assert ping.opcode == 0x2
    assert ping.data == b"\x02\x91\x06"


def test_silent_client_is_dropped_with_an_error_close(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(keep_alive_interval=0.1, client_timeout_interval=0.5)
    client = raw(server).connect()
    client.send_records({"type": 6})  # the JS client pings once after the handshake, then...
    connection_id = client.result("Whoami")["connectionId"]
    started = time.monotonic()

    messages, close = client.read_until_closed(timeout=3)  # ...goes silent (pings skipped)

    assert messages == [
        {"type": 7, "error": "Connection closed with an error.", "allowReconnect": True}
    ]
    assert close.close_code == 1000
    assert client.socket_ends()
    assert 0.4 < time.monotonic() - started < 2.5
    assert disconnect_event(server, connection_id) == (
        "disconnected",
        connection_id,
        "TimeoutError",
    )


def test_detailed_client_timeout_says_why(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(
        keep_alive_interval=0.1, client_timeout_interval=0.5, enable_detailed_errors=True
    )
    client = raw(server).connect()
    client.send_records({"type": 6})
    messages, _close = client.read_until_closed(timeout=3)
    assert len(messages) == 1
    assert messages[0]["error"].startswith("Connection closed with an error. TimeoutError: ")
    assert messages[0]["allowReconnect"] is True


def test_client_that_keeps_pinging_is_not_dropped(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(keep_alive_interval=0.1, client_timeout_interval=0.5)
    client = raw(server).connect()
    deadline = time.monotonic() + 1.1  # more than two client timeouts
    while time.monotonic() < deadline:
        client.send_records({"type": 6})
        gevent.sleep(0.1)  # pacing the client's own pings, as a real client's timer does
    assert client.invoke("Add", 1, 2)["result"] == 3
    assert server.endpoint("/hubs/test").registry.active_count() == 1


def test_any_message_counts_as_liveness(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(keep_alive_interval=0.1, client_timeout_interval=0.5)
    client = raw(server).connect()
    client.send_records({"type": 6})
    deadline = time.monotonic() + 1.1
    while time.monotonic() < deadline:
        assert client.invoke("Add", 1, 1)["result"] == 2  # invocations, no pings
        gevent.sleep(0.1)
    assert server.endpoint("/hubs/test").registry.active_count() == 1


def test_client_close_message_ends_the_connection_gracefully(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server).connect()
    connection_id = client.result("Whoami")["connectionId"]
    client.send_records({"type": 7})
    messages, close = client.read_until_closed()
    # ASP.NET may answer with a plain {"type":7}; nothing else may come.
    assert messages in ([], [{"type": 7}])
    assert close.close_code == 1000
    assert client.socket_ends()
    assert disconnect_event(server, connection_id) == ("disconnected", connection_id, None)


def test_client_close_frame_is_a_graceful_end(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    connection_id = client.result("Whoami")["connectionId"]
    assert client.ws is not None
    client.ws.send_close()  # a close frame without a Close message (e.g. a tab closing)
    assert disconnect_event(server, connection_id) == ("disconnected", connection_id, None)
    frame = client.next_frame()
    assert frame.close_code == 1000  # the server answers the close handshake


def test_abrupt_tcp_close_reports_connection_lost(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    connection_id = client.result("Whoami")["connectionId"]
    client.drop()
    assert disconnect_event(server, connection_id) == (
        "disconnected",
        connection_id,
        "ConnectionLostError",
    )


def test_abort_from_the_hub_sends_close_without_reconnect(server: RunningServer, raw: Raw) -> None:
    client = raw(server).connect()
    client.send_invocation("AbortMe")
    messages, close = client.read_until_closed()
    assert messages[-1] == {"type": 7}
    assert close.close_code == 1000


def test_nothing_is_sent_before_the_clients_handshake(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    """signalrcore breaks on any frame (even a ping) that precedes the handshake response."""
    server = start_server(keep_alive_interval=0.1)
    client = raw(server).open()
    assert client.nothing_arrives(within=0.5)  # five keep-alive intervals
    client.send(handshake_record())
    assert client.next_frame().data == b"{}\x1e"


def test_websocket_pings_are_answered(server: RunningServer, raw: Raw) -> None:
    """pysignalr's websockets library drops a socket whose pings go unanswered."""
    client = raw(server).connect()
    assert client.ws is not None
    client.ws.ping(b"are-you-there")
    client.ws.settimeout(5)
    frame = client.ws.recv_frame()
    assert frame.opcode == 0xA  # pong
    assert frame.data == b"are-you-there"
    assert client.invoke("Add", 1, 1)["result"] == 2


def test_on_connected_failure_closes_without_reconnect(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/explode").open()
    client.send(handshake_record())
    assert client.next_frame().data == b"{}\x1e"
    messages, close = client.read_until_closed()
    assert messages == [{"type": 7, "error": "Connection closed with an error."}]
    assert close.close_code == 1000
    registry = server.endpoint("/hubs/explode").registry
    wait_until(lambda: registry.active_count() == 0, what="the connection to be released")


def test_bad_input_reaches_on_disconnected_as_an_exception(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024)
    client = raw(server).connect()
    connection_id = client.result("Whoami")["connectionId"]
    client.send_records({"type": 1, "target": "Echo", "arguments": ["x" * 2000]})
    client.read_until_closed()
    _kind, _id, exception = disconnect_event(server, connection_id)
    assert exception is not None
