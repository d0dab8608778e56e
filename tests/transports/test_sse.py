"""Server-Sent Events with raw HTTP: headers, the flushed comment, framing, pings, every end."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest

from transports.http_client import RS, MakeHub, handshake, json_records, record

from support.apps import TestHub
from support.server import RunningServer
from support.waiting import wait_until


def endpoint(server: RunningServer) -> Any:
    return server.endpoint("/hubs/test")


def live(server: RunningServer) -> tuple[int, int]:
    """Connections the registry and the lifetime manager hold."""
    return endpoint(server).registry.active_count(), endpoint(server).manager.connection_count()


def disconnects(server: RunningServer) -> list[Any]:
    return [e for e in server.app.config["TEST_EVENTS"] if e[0] == "disconnected"]


def test_stream_headers(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    response = hub.open_stream(hub.token()).response
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache,no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Content-Encoding"] == "identity"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Transfer-Encoding"] == "chunked"


def test_the_comment_is_flushed_at_once_after_registration(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    stream = hub.open_stream(hub.token())
    assert stream.next_chunk(timeout=1) == b":\r\n"
    assert live(server) == (1, 0)  # registered before the comment went out


def test_each_write_reaches_the_client_as_it_happens(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.token()
    stream = hub.open_stream(token)
    assert stream.next_chunk() == b":\r\n"
    hub.post(token, handshake())
    assert stream.next_chunk() == b"data: {}\x1e\r\n\r\n"
    hub.post(token, record({"type": 1, "invocationId": "1", "target": "Add", "arguments": [1, 2]}))
    assert stream.next_chunk() == b'data: {"type":3,"invocationId":"1","result":3}\x1e\r\n\r\n'


def test_a_burst_of_broadcasts_is_one_event(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    _token, stream = hub.event_stream()
    clients = server.signalr.hub_context(TestHub).clients
    for number in range(3):  # sent together: one event with three records
        clients.all.send("Receive", number)
    data = stream.next_data()
    assert data is not None
    assert [m["arguments"] for m in json_records(data)] == [[0], [1], [2]]


def test_handshake_and_records_in_one_post(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.token()
    stream = hub.open_stream(token)
    call = record({"type": 1, "invocationId": "1", "target": "Echo", "arguments": ["hi"]})
    hub.post(token, handshake() + call)
    assert stream.next_data() == b"{}" + RS
    assert stream.next_message() == {"type": 3, "invocationId": "1", "result": "hi"}


def test_keep_alive_pings(start_server: Callable[..., RunningServer], http_hub: MakeHub) -> None:
    server = start_server(keep_alive_interval=0.1)
    _token, stream = http_hub(server).event_stream()
    assert stream.next_message(timeout=2) == {"type": 6}


def test_a_silent_client_is_closed(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(keep_alive_interval=0.1, client_timeout_interval=0.3)
    _token, stream = http_hub(server).event_stream()
    message = stream.next_message(timeout=2)
    while message == {"type": 6}:
        message = stream.next_message(timeout=2)
    assert message == {
        "type": 7,
        "error": "Connection closed with an error.",
        "allowReconnect": True,
    }
    assert stream.ended()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")


def test_messagepack_is_refused_at_the_handshake(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.token()
    stream = hub.open_stream(token)
    assert stream.next_chunk() == b":\r\n"
    hub.post(token, handshake("messagepack"))
    assert stream.next_message() == {
        "error": "Cannot use the 'messagepack' protocol on the current transport. "
        "The transport does not support 'Binary' transfer format."
    }
    assert stream.ended()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")


def test_client_hang_up_ends_the_stream_and_frees_state(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token, stream = hub.event_stream()
    assert live(server) == (1, 1)
    stream.close()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
    assert disconnects(server)[-1][2] is None  # closing the EventSource is how clients leave
    assert hub.post(token, b'{"type":6}\x1e').status_code == 404


def test_server_close_sends_close_and_ends_the_stream(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token, stream = hub.event_stream()
    hub.post(token, record({"type": 1, "target": "AbortMe", "arguments": []}))
    assert stream.next_message() == {"type": 7}
    assert stream.ended()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
    assert disconnects(server)[-1][2] is None


def test_client_close_message_ends_the_stream(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token, stream = hub.event_stream()
    hub.post(token, record({"type": 7}))
    assert stream.ended()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")


def test_server_shutdown_closes_with_reconnect(server: RunningServer, http_hub: MakeHub) -> None:
    _token, stream = http_hub(server).event_stream()
    endpoint(server).close_all(reconnect=True)
    assert stream.next_message() == {"type": 7, "allowReconnect": True}
    assert stream.ended()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")


def test_output_past_the_limit_closes_the_connection(
    start_server: Callable[..., RunningServer],
    http_hub: MakeHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = start_server(maximum_outbound_buffer_size=10_000)
    _token, stream = http_hub(server).event_stream()
    clients = server.signalr.hub_context(TestHub).clients
    with caplog.at_level(logging.WARNING, logger="flask_signalr"):
        for _ in range(3):  # faster than the stream loop can write: it never runs in between
            clients.all.send("Big", "x" * 4000)
        server.endpoint("/hubs/test").manager.flush()  # the burst leaves as one write
    assert "outbound buffer full" in caplog.text
    assert stream.ended()
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
    assert disconnects(server)[-1][2] == "ConnectionAbortedError"


def test_a_client_that_stops_reading_is_dropped(
    start_server: Callable[..., RunningServer],
    http_hub: MakeHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A write that cannot finish within the client timeout ends the connection."""
    server = start_server(
        client_timeout_interval=0.3, maximum_outbound_buffer_size=64 * 1024 * 1024
    )
    hub = http_hub(server)
    token = hub.token()
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills up quickly
    client.connect(("127.0.0.1", server.port))
    try:
        client.sendall(
            f"GET /hubs/test?id={token} HTTP/1.1\r\nHost: x\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        wait_until(lambda: live(server) == (1, 0), what="the stream to open")
        hub.post(token, handshake())
        wait_until(lambda: live(server) == (1, 1), what="the handshake")
        clients = server.signalr.hub_context(TestHub).clients
        with caplog.at_level(logging.WARNING, logger="flask_signalr"):
            for _ in range(16):  # far more than the socket buffers hold; the client reads none
                clients.all.send("Big", "x" * 1024 * 1024)
            wait_until(lambda: live(server) == (0, 0), what="the stalled client to be dropped")
        # Only the write timeout can end a write that the client never reads; the client
        # timeout (same length here: this client sends no pings) may close the connection
        # too, but a close waits for that write like everything else.
        assert "A client stopped reading for 0.3s; dropping it." in caplog.text
    finally:
        client.close()
