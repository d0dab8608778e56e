"""Negotiate and connection tokens on the wire (PROTOCOL.md §1, §2, §3.1)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests

from support.raw import RawHub, websocket_status
from support.server import RunningServer
from support.waiting import wait_until

URL_SAFE_22 = re.compile(r"^[A-Za-z0-9_-]{22}$")
WEBSOCKETS = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]

Raw = Callable[..., RawHub]


def test_version_1_issues_a_secret_token_distinct_from_the_public_id(
    server: RunningServer, raw: Raw
) -> None:
    response = raw(server).negotiate(1)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == [
        "negotiateVersion",
        "connectionId",
        "connectionToken",
        "availableTransports",
        "useStatefulReconnect",
    ]
    assert body["negotiateVersion"] == 1
    assert URL_SAFE_22.match(body["connectionId"]), body
    assert URL_SAFE_22.match(body["connectionToken"]), body
    assert body["connectionToken"] != body["connectionId"]
    assert WEBSOCKETS[0] in body["availableTransports"]
    assert body["availableTransports"][0]["transport"] == "WebSockets"
    assert body["useStatefulReconnect"] is False


def test_every_negotiation_gets_fresh_ids(server: RunningServer, raw: Raw) -> None:
    first, second = raw(server).negotiated(), raw(server).negotiated()
    issued = {
        first["connectionId"],
        first["connectionToken"],
        second["connectionId"],
        second["connectionToken"],
    }
    assert len(issued) == 4


def test_version_1_connection_is_reached_by_token_and_hub_sees_public_id(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server)
    body = client.negotiate_and_connect()
    assert client.result("Whoami")["connectionId"] == body["connectionId"]


def test_version_1_connection_is_never_reachable_by_its_public_id(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server)
    body = client.negotiated()
    assert websocket_status(client.socket_url(body["connectionId"])) == 404
    # Still unreachable once the real owner has connected with the token.
    client.connect(body["connectionToken"])
    assert websocket_status(client.socket_url(body["connectionId"])) == 404
    assert client.invoke("Add", 1, 1)["result"] == 2


@pytest.mark.parametrize("version", [None, 0])
def test_version_0_has_no_token_and_the_id_is_the_token(
    server: RunningServer, raw: Raw, version: int | None
) -> None:
    client = raw(server)
    response = client.negotiate(version)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "negotiateVersion",
        "connectionId",
        "availableTransports",
        "useStatefulReconnect",
    ]
    assert body["negotiateVersion"] == 0
    assert URL_SAFE_22.match(body["connectionId"])

    client.connect(body["connectionId"])
    assert client.result("Whoami")["connectionId"] == body["connectionId"]


@pytest.mark.parametrize("version", ["5", "2", "1000"])
def test_versions_above_1_are_answered_with_1(
    server: RunningServer, raw: Raw, version: str
) -> None:
    body = raw(server).negotiated(version)
    assert body["negotiateVersion"] == 1
    assert URL_SAFE_22.match(body["connectionToken"])


def test_version_key_is_case_insensitive(server: RunningServer, raw: Raw) -> None:
    body = raw(server).negotiated(None, params={"NegotiateVersion": "1"})
    assert body["negotiateVersion"] == 1
    assert "connectionToken" in body


@pytest.mark.parametrize("version", ["abc", "1.5", ""])
def test_non_integer_version_is_a_400_with_the_aspnet_text(
    server: RunningServer, raw: Raw, version: str
) -> None:
    response = raw(server).negotiate(version)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "The client requested a non-integer protocol version."


def test_negative_version_is_refused(server: RunningServer, raw: Raw) -> None:
    response = raw(server).negotiate(-1)
    assert response.status_code == 400
    assert response.text == (
        "The client requested version '-1', but the server does not support this version."
    )


def test_negotiate_ignores_a_json_content_type_with_empty_body(
    server: RunningServer, raw: Raw
) -> None:
    # signalrcore sends Content-Type: application/json and no body.
    response = raw(server).negotiate(None, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["negotiateVersion"] == 0


def test_unknown_hub_path_is_404(server: RunningServer) -> None:
    response = requests.post(server.url + "/hubs/nope/negotiate?negotiateVersion=1", timeout=5)
    assert response.status_code == 404
    assert websocket_status(server.ws_url + "/hubs/nope") == 404


def test_get_on_negotiate_is_405(server: RunningServer, raw: Raw) -> None:
    response = requests.get(raw(server).http_url + "/negotiate?negotiateVersion=1", timeout=5)
    assert response.status_code == 405


def test_unknown_token_is_404(server: RunningServer, raw: Raw) -> None:
    client = raw(server)
    assert websocket_status(client.socket_url("AAAAAAAAAAAAAAAAAAAAAA")) == 404
    assert server.endpoint("/hubs/test").registry.active_count() == 0


def test_a_token_only_opens_the_hub_that_issued_it(server: RunningServer, raw: Raw) -> None:
    token = raw(server).negotiated()["connectionToken"]
    other_hub = raw(server, "/hubs/admin")
    assert websocket_status(other_hub.socket_url(token, access_token="token-admin")) == 404
    client = raw(server).connect(token)  # still unclaimed on its own hub
    assert client.invoke("Add", 1, 1)["result"] == 2


def test_second_socket_on_an_active_token_is_409_and_the_first_survives(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server)
    body = client.negotiate_and_connect()
    assert websocket_status(client.socket_url(body["connectionToken"])) == 409
    assert client.invoke("Add", 2, 2)["result"] == 4


def test_a_token_cannot_be_reused_after_its_connection_ended(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server)
    body = client.negotiate_and_connect()
    client.send_records({"type": 7})
    client.read_until_closed()
    registry = server.endpoint("/hubs/test").registry
    wait_until(lambda: registry.active_count() == 0, what="the connection to be released")
    assert websocket_status(client.socket_url(body["connectionToken"])) == 404


def test_skip_negotiation_opens_a_fresh_connection(server: RunningServer, raw: Raw) -> None:
    first, second = raw(server), raw(server)
    first.connect()  # no id: the JS client's skipNegotiation
    second.connect()
    first_id = first.result("Whoami")["connectionId"]
    second_id = second.result("Whoami")["connectionId"]
    assert URL_SAFE_22.match(first_id)
    assert first_id != second_id
    assert first.invoke("Add", 20, 22)["result"] == 42


def test_unused_reservations_expire(start_server: Callable[..., RunningServer], raw: Raw) -> None:
    server = start_server(disconnect_timeout=0.3, keep_alive_interval=0.2)
    registry = server.endpoint("/hubs/test").registry
    raw(server).connect()  # a live connection keeps the hub's clock running
    token = raw(server).negotiated()["connectionToken"]
    assert registry.reservation_count() == 1

    wait_until(lambda: registry.reservation_count() == 0, what="the reservation to expire")
    assert websocket_status(raw(server).socket_url(token)) == 404


def test_expired_reservations_are_dropped_by_later_negotiations(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    """With no connection at all (no clock running), negotiating still cannot grow memory."""
    server = start_server(disconnect_timeout=0.3)
    registry = server.endpoint("/hubs/test").registry
    client = raw(server)
    old_token = client.negotiated()["connectionToken"]

    made = [1]

    def some_reservation_was_swept() -> bool:
        client.negotiated()
        made[0] += 1
        return registry.reservation_count() < made[0]

    # Keep negotiating: once the first reservation is 0.3 s old, the next negotiate sweeps it
    # (oldest first), so the count stops following the number of requests.
    wait_until(some_reservation_was_swept, what="old reservations to be swept")
    assert websocket_status(client.socket_url(old_token)) == 404
