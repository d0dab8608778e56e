"""Long polling with raw HTTP: the first-poll rule, held polls, batching, 204, DELETE, timeouts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from transports.http_client import (
    RS,
    MakeHub,
    handshake,
    json_records,
    msgpack_record,
    msgpack_records,
    record,
)

from support.apps import TestHub
from support.server import RunningServer
from support.waiting import wait_until

NO_CACHE = {
    "Cache-Control": "no-cache, no-store",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


def endpoint(server: RunningServer) -> Any:
    return server.endpoint("/hubs/test")


def live(server: RunningServer) -> tuple[int, int]:
    """Connections the registry and the lifetime manager hold."""
    return endpoint(server).registry.active_count(), endpoint(server).manager.connection_count()


def polling(server: RunningServer, token: str) -> bool:
    connection = endpoint(server).registry.connection(token)
    return connection is not None and connection.transport.polling


def disconnects(server: RunningServer) -> list[Any]:
    return [e for e in server.app.config["TEST_EVENTS"] if e[0] == "disconnected"]


def test_first_poll_answers_at_once_and_empty(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)  # long_polling_timeout is the default 90 s here
    token = hub.token()
    started = time.monotonic()
    response = hub.poll(token)
    assert time.monotonic() - started < 1
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == "0"
    assert {key: response.headers[key] for key in NO_CACHE} == NO_CACHE
    assert live(server) == (1, 0)  # registered; it joins the hub at the handshake


def test_handshake_and_invocation_round_trip(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    assert live(server) == (1, 1)
    answer = hub.poll_later(token)
    wait_until(lambda: polling(server, token), what="the poll to wait")
    hub.post(token, record({"type": 1, "invocationId": "1", "target": "Add", "arguments": [2, 3]}))
    response = answer.get(timeout=5)
    assert response.status_code == 200
    assert {key: response.headers[key] for key in NO_CACHE} == NO_CACHE
    assert json_records(response.content) == [{"type": 3, "invocationId": "1", "result": 5}]


def test_idle_poll_is_held_until_the_poll_timeout(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(long_polling_timeout=0.5, keep_alive_interval=0.1)
    hub = http_hub(server)
    token = hub.long_polling()
    started = time.monotonic()
    response = hub.poll(token)
    elapsed = time.monotonic() - started
    # Empty: in particular no pings, however short the keep-alive interval.
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Content-Length"] == "0"
    assert 0.45 <= elapsed < 2, elapsed


def test_all_pending_records_come_in_one_response(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    clients = server.signalr.hub_context(TestHub).clients
    for number in range(3):
        clients.all.send("Receive", number)
    response = hub.poll(token)
    assert [m["arguments"] for m in json_records(response.content)] == [[0], [1], [2]]


def test_messagepack_bodies_are_binary(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.token()
    assert hub.poll(token).status_code == 200
    hub.post(token, handshake("messagepack"))
    assert hub.poll(token).content == b"{}" + RS  # the handshake answer is always JSON
    invocation = [1, {}, "7", "Echo", [b"\x00\xff"], []]
    hub.post(
        token, msgpack_record(invocation), headers={"Content-Type": "application/octet-stream"}
    )
    server.signalr.hub_context(TestHub).clients.all.send("Receive", "x")
    bodies = b""
    while len(msgpack_records(bodies)) < 2:
        bodies += hub.poll(token).content
    assert sorted(msgpack_records(bodies), key=lambda m: m[0]) == [
        [1, {}, None, "Receive", ["x"], []],
        [3, {}, "7", 3, b"\x00\xff"],
    ]


def test_a_closed_connection_delivers_its_close_then_answers_204(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    hub.post(token, record({"type": 1, "target": "AbortMe", "arguments": []}))
    assert json_records(hub.poll(token).content) == [{"type": 7}]
    assert hub.poll(token).status_code == 204
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
    assert hub.poll(token).status_code == 404
    assert disconnects(server)[-1][2] is None


def test_delete_ends_the_connection_and_a_waiting_poll(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    waiting = hub.poll_later(token)
    wait_until(lambda: polling(server, token), what="the poll to wait")
    assert hub.delete(token).status_code == 202
    response = waiting.get(timeout=5)
    assert (response.status_code, response.content) == (204, b"")
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
    assert disconnects(server)[-1][2] is None
    assert hub.delete(token).status_code == 404
    assert hub.post(token, b'{"type":6}\x1e').status_code == 404


def test_a_client_that_stops_polling_is_dropped(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(disconnect_timeout=0.3)
    hub = http_hub(server)
    token = hub.long_polling()
    assert live(server) == (1, 1)
    wait_until(lambda: live(server) == (0, 0), timeout=2, what="the silent client to be dropped")
    assert disconnects(server)[-1][2] == "ConnectionLostError"
    assert hub.poll(token).status_code == 404


def test_a_waiting_poll_keeps_the_connection_alive(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(disconnect_timeout=0.2, long_polling_timeout=0.6)
    hub = http_hub(server)
    token = hub.long_polling()
    assert hub.poll(token).status_code == 200  # held three times the disconnect timeout
    assert live(server) == (1, 1)


def test_server_shutdown_closes_with_reconnect_and_frees_state(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    waiting = hub.poll_later(token)
    wait_until(lambda: polling(server, token), what="the poll to wait")
    endpoint(server).close_all(reconnect=True)
    assert json_records(waiting.get(timeout=5).content) == [{"type": 7, "allowReconnect": True}]
    assert hub.poll(token).status_code == 204
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")


def test_pending_output_past_the_limit_closes_the_connection(
    start_server: Callable[..., RunningServer],
    http_hub: MakeHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = start_server(maximum_outbound_buffer_size=10_000)
    hub = http_hub(server)
    token = hub.long_polling()
    clients = server.signalr.hub_context(TestHub).clients
    with caplog.at_level(logging.WARNING, logger="flask_signalr"):
        for _ in range(3):  # nobody polls in between
            clients.all.send("Big", "x" * 4000)
        server.endpoint("/hubs/test").manager.flush()  # the burst leaves as one write
    assert "outbound buffer full" in caplog.text
    assert hub.poll(token).status_code == 204  # what was pending is dropped
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
    assert disconnects(server)[-1][2] == "ConnectionAbortedError"


def test_a_big_post_body_is_read_piece_by_piece(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    """Records straddle the server's read size; the body is far over the per-record limit."""
    server = start_server(maximum_receive_message_size=100)
    hub = http_hub(server)
    token = hub.long_polling()
    labels = [f"label-{number:05}" for number in range(3000)]
    body = b"".join(record({"type": 1, "target": "Record", "arguments": [x]}) for x in labels)
    assert len(body) > 150_000
    assert hub.post(token, body).status_code == 200
    hub.post(token, record({"type": 1, "invocationId": "1", "target": "Nothing", "arguments": []}))
    assert json_records(hub.poll(token).content) == [
        {"type": 3, "invocationId": "1", "result": None}
    ]
    recorded = [e[1] for e in server.app.config["TEST_EVENTS"] if e[0] == "record"]
    assert recorded == labels


def test_a_posted_record_over_the_size_limit_closes_the_connection(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(maximum_receive_message_size=100)
    hub = http_hub(server)
    token = hub.long_polling()
    big = record({"type": 1, "target": "Record", "arguments": ["x" * 200]})
    assert hub.post(token, big).status_code == 200
    assert json_records(hub.poll(token).content) == [
        {"type": 7, "error": "Connection closed with an error.", "allowReconnect": True}
    ]
    assert hub.poll(token).status_code == 204
    wait_until(lambda: live(server) == (0, 0), what="the connection to be released")
