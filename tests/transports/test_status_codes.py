"""Negotiate's transport list and the status codes of the HTTP transport endpoints (§1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket

from transports.http_client import HttpHub, MakeHub, websocket_status

from support.server import RunningServer
from support.waiting import wait_until

NO_CONNECTION = "No Connection with that ID"
CANNOT_CHANGE = "Cannot change transports mid-connection"


def transport_of(server: RunningServer, token: str) -> Any:
    connection = server.endpoint("/hubs/test").registry.connection(token)
    assert connection is not None
    return connection.transport


def open_websocket(hub: HttpHub, token: str) -> websocket.WebSocket:
    return websocket.create_connection(f"{hub.ws_url}?id={token}", timeout=5)


# -- negotiate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enabled", "listed"),
    [
        (
            None,
            [
                {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
                {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
                {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
            ],
        ),
        (
            ["LongPolling", "ServerSentEvents"],
            [
                {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
                {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
            ],
        ),
        (["LongPolling"], [{"transport": "LongPolling", "transferFormats": ["Text", "Binary"]}]),
    ],
)
def test_negotiate_lists_exactly_the_enabled_transports_in_order(
    start_server: Callable[..., RunningServer],
    http_hub: MakeHub,
    enabled: list[str] | None,
    listed: list[dict[str, Any]],
) -> None:
    server = start_server() if enabled is None else start_server(transports=enabled)
    assert http_hub(server).negotiate().json()["availableTransports"] == listed


# -- refused requests --------------------------------------------------------------------------

REQUESTS = {
    "poll": lambda hub, token: hub.poll(token),
    "sse": lambda hub, token: hub.stream_request(token),
    "post": lambda hub, token: hub.post(token, b"{}\x1e"),
    "delete": lambda hub, token: hub.delete(token),
}


@pytest.mark.parametrize("kind", REQUESTS)
def test_missing_id_is_400(server: RunningServer, http_hub: MakeHub, kind: str) -> None:
    response = REQUESTS[kind](http_hub(server), None)
    assert (response.status_code, response.text) == (400, "Connection ID required")
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("kind", REQUESTS)
def test_unknown_id_is_404(server: RunningServer, http_hub: MakeHub, kind: str) -> None:
    response = REQUESTS[kind](http_hub(server), "AAAAAAAAAAAAAAAAAAAAAA")
    assert (response.status_code, response.text) == (404, NO_CONNECTION)


def test_disabled_transports_are_404_and_leave_the_token_usable(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(transports=["WebSockets"])
    hub = http_hub(server)
    token = hub.token()
    poll, stream = hub.poll(token), hub.stream_request(token)
    assert (poll.status_code, poll.text) == (
        404,
        "LongPolling transport not supported by this end point type",
    )
    assert (stream.status_code, stream.text) == (
        404,
        "ServerSentEvents transport not supported by this end point type",
    )
    assert websocket_status(f"{hub.ws_url}?id={token}") == 101


def test_websockets_disabled_is_404(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(transports=["LongPolling"])
    hub = http_hub(server)
    assert websocket_status(f"{hub.ws_url}?id={hub.token()}") == 404


def test_a_long_polling_connection_cannot_change_transports(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    hub = http_hub(start_server(long_polling_timeout=0.1))
    token = hub.long_polling()
    stream = hub.stream_request(token)
    assert (stream.status_code, stream.text) == (400, CANNOT_CHANGE)
    assert websocket_status(f"{hub.ws_url}?id={token}") == 400
    assert hub.poll(token).status_code == 200  # still a working connection


def test_an_sse_connection_cannot_change_transports(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token, _stream = hub.event_stream()
    poll = hub.poll(token)
    assert (poll.status_code, poll.text) == (400, CANNOT_CHANGE)
    assert websocket_status(f"{hub.ws_url}?id={token}") == 400
    delete = hub.delete(token)
    assert (delete.status_code, delete.text) == (
        400,
        "Cannot terminate this connection using the DELETE endpoint.",
    )
    assert hub.post(token, b'{"type":6}\x1e').status_code == 200  # still a working connection


def test_a_websocket_connection_takes_no_http_requests(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.token()
    socket = open_websocket(hub, token)
    try:
        post = hub.post(token, b"{}\x1e")
        assert (post.status_code, post.text) == (
            405,
            "POST requests are not allowed for WebSocket connections.",
        )
        delete = hub.delete(token)
        assert (delete.status_code, delete.text) == (
            400,
            "Cannot terminate this connection using the DELETE endpoint.",
        )
        assert (hub.poll(token).status_code, hub.poll(token).text) == (400, CANNOT_CHANGE)
        assert hub.stream_request(token).status_code == 400
    finally:
        socket.close()


def test_a_second_event_stream_is_409(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token, _stream = hub.event_stream()
    assert hub.stream_request(token).status_code == 409


def test_a_concurrent_poll_is_409_and_delete_ends_the_waiting_one(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    waiting = hub.poll_later(token)
    wait_until(lambda: transport_of(server, token).polling, what="the first poll to wait")
    assert hub.poll(token).status_code == 409
    delete = hub.delete(token)
    assert (delete.status_code, delete.text) == (202, "")
    assert waiting.get(timeout=5).status_code == 204


def test_accepted_post_is_200_and_empty(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    response = hub.post(token, b'{"type":6}\x1e')
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Content-Type"].startswith("text/plain")


def test_head_on_the_hub_is_405(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server)
    token = hub.token()
    assert requests.head(hub.url, params={"id": token}, timeout=5).status_code == 405
    assert hub.poll(token).status_code == 200  # the HEAD did not use the token up
