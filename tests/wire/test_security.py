"""Origin checks, CORS, authentication and hub-level roles on the wire (issue 2, items 9-10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from support.raw import RawHub, websocket_status
from support.server import RunningServer
from support.waiting import wait_until

Raw = Callable[..., RawHub]

EVIL = "http://evil.example"
GOOD = "http://good.example"
JS_HEADERS = "x-requested-with,x-signalr-user-agent,authorization,content-type"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- origin ---------------------------------------------------------------------------------


def test_foreign_origin_is_refused_on_negotiate_and_websocket(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server)
    assert client.negotiate(headers={"Origin": EVIL}).status_code == 403
    assert websocket_status(client.socket_url(), origin=EVIL) == 403
    token = client.negotiated()["connectionToken"]
    assert websocket_status(client.socket_url(token), origin=EVIL) == 403
    # The refused request did not consume the reservation: its owner can still connect.
    client.connect(token)
    assert client.invoke("Add", 1, 1)["result"] == 2


def test_foreign_origin_is_refused_before_authentication(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/secure")
    response = client.negotiate(headers={"Origin": EVIL, **bearer("token-kevin")})
    assert response.status_code == 403
    status = websocket_status(client.socket_url(access_token="token-kevin"), origin=EVIL)
    assert status == 403


def test_refused_origin_is_not_granted_cors(server: RunningServer, raw: Raw) -> None:
    """A page on a refused origin must not be allowed to read even the refusal."""
    response = raw(server).negotiate(headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_foreign_origin_preflight_is_refused(server: RunningServer, raw: Raw) -> None:
    response = requests.options(
        raw(server).http_url + "/negotiate",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_same_origin_is_allowed(server: RunningServer, raw: Raw) -> None:
    client = raw(server)
    response = client.negotiate(headers={"Origin": server.url})
    assert response.status_code == 200
    # A same-origin page needs no CORS grant.
    assert "Access-Control-Allow-Origin" not in response.headers
    client.connect(response.json()["connectionToken"], origin=server.url)
    assert client.invoke("Add", 2, 2)["result"] == 4


def test_requests_without_origin_are_allowed(server: RunningServer, raw: Raw) -> None:
    """Non-browser clients (pysignalr, signalrcore) send no Origin at all."""
    client = raw(server)
    token = client.negotiated()["connectionToken"]
    client.connect(token, suppress_origin=True)
    assert client.invoke("Add", 3, 3)["result"] == 6


def test_allowed_origin_gets_cors_with_credentials(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(allowed_origins=[GOOD])
    client = raw(server)
    response = client.negotiate(headers={"Origin": GOOD})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == GOOD
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers.get("Vary", "")

    client.connect(response.json()["connectionToken"], origin=GOOD)
    assert client.invoke("Add", 1, 2)["result"] == 3
    # Other origins are still refused.
    assert raw(server).negotiate(headers={"Origin": EVIL}).status_code == 403
    assert websocket_status(client.socket_url(), origin=EVIL) == 403


def test_allowed_origin_preflight(start_server: Callable[..., RunningServer], raw: Raw) -> None:
    server = start_server(allowed_origins=[GOOD])
    response = requests.options(
        raw(server).http_url + "/negotiate?negotiateVersion=1",
        headers={
            "Origin": GOOD,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": JS_HEADERS,
        },
        timeout=5,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == GOOD
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert set(JS_HEADERS.split(",")) <= allowed


def test_allowed_origin_preflight_without_requested_headers_lists_the_client_headers(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(allowed_origins=[GOOD])
    response = requests.options(
        raw(server).http_url + "/negotiate",
        headers={"Origin": GOOD, "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert response.status_code == 204
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert set(JS_HEADERS.split(",")) <= allowed


def test_allowed_origins_is_case_and_slash_insensitive(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(allowed_origins=["HTTP://Good.Example/"])
    assert raw(server).negotiate(headers={"Origin": GOOD}).status_code == 200


def test_wildcard_allows_any_origin_and_echoes_it(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(allowed_origins="*")
    client = raw(server)
    response = client.negotiate(headers={"Origin": EVIL})
    assert response.status_code == 200
    # With credentials, browsers reject "*": the origin itself must be echoed.
    assert response.headers["Access-Control-Allow-Origin"] == EVIL
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    client.connect(response.json()["connectionToken"], origin=EVIL)
    assert client.invoke("Add", 1, 1)["result"] == 2


# -- authentication -------------------------------------------------------------------------


def test_anonymous_is_401_on_negotiate_and_websocket(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/secure")
    assert client.negotiate().status_code == 401
    assert websocket_status(client.socket_url()) == 401
    assert server.endpoint("/hubs/secure").registry.reservation_count() == 0


def test_anonymous_cannot_use_a_token_negotiated_by_a_user(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/secure")
    token = client.negotiated(headers=bearer("token-kevin"))["connectionToken"]
    assert websocket_status(client.socket_url(token)) == 401
    # The refusal did not use up the token: kevin can still connect with it.
    client.connect(token, access_token="token-kevin")
    assert client.result("Whoami") == "kevin"


def test_unknown_bearer_token_is_401(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/secure")
    assert client.negotiate(headers=bearer("token-nobody")).status_code == 401
    assert websocket_status(client.socket_url(access_token="token-nobody")) == 401


def test_bearer_header_on_negotiate_and_access_token_on_websocket(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server, "/hubs/secure")
    token = client.negotiated(headers=bearer("token-kevin"))["connectionToken"]
    client.connect(token, access_token="token-kevin")
    assert client.result("Whoami") == "kevin"


def test_bearer_header_on_the_websocket_request(server: RunningServer, raw: Raw) -> None:
    """Node clients send Authorization on the upgrade request instead of access_token."""
    client = raw(server, "/hubs/secure")
    token = client.negotiated(headers=bearer("token-kevin"))["connectionToken"]
    client.connect(token, header=["Authorization: Bearer token-kevin"])
    assert client.result("Whoami") == "kevin"


def test_session_cookie_authenticates(server: RunningServer, raw: Raw) -> None:
    with requests.Session() as session:
        assert session.post(server.url + "/login/kevin", timeout=5).status_code == 200
        response = session.post(
            server.hub_url("/hubs/secure") + "/negotiate?negotiateVersion=1", timeout=5
        )
        assert response.status_code == 200
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    client = raw(server, "/hubs/secure")
    client.connect(response.json()["connectionToken"], cookie=cookie)
    assert client.result("Whoami") == "kevin"


def test_user_without_the_hub_role_is_403(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/admin")
    assert client.negotiate(headers=bearer("token-kevin")).status_code == 403
    assert websocket_status(client.socket_url(access_token="token-kevin")) == 403
    assert websocket_status(client.socket_url()) == 401


def test_user_with_the_hub_role_is_admitted(server: RunningServer, raw: Raw) -> None:
    client = raw(server, "/hubs/admin")
    token = client.negotiated(headers=bearer("token-admin"))["connectionToken"]
    client.connect(token, access_token="token-admin")
    assert client.result("Ping") == "pong"


def test_method_role_failure_is_an_error_completion_and_the_connection_stays(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server)
    client.connect(access_token="token-kevin")
    assert client.invoke("AdminOnly")["error"] == (
        "Failed to invoke 'AdminOnly' because user is unauthorized"
    )
    assert client.invoke("Add", 1, 1)["result"] == 2
    admin = raw(server).connect(access_token="token-admin")
    assert admin.result("AdminOnly") == "admin ok"


# -- cleanup --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["close-message", "abrupt"])
def test_ended_connection_leaves_no_state_behind(server: RunningServer, raw: Raw, how: str) -> None:
    endpoint = server.endpoint("/hubs/test")
    client = raw(server)
    client.connect(client.negotiated()["connectionToken"], access_token="token-kevin")
    client.invoke("Join", "room")
    connection_id = client.result("Whoami")["connectionId"]
    assert endpoint.registry.active_count() == 1
    assert endpoint.manager.group_names() == ["room"]
    assert endpoint.manager.get_connection(connection_id) is not None

    if how == "close-message":
        client.send_records({"type": 7})
        client.read_until_closed()
    else:
        client.drop()

    wait_until(lambda: endpoint.registry.active_count() == 0, what="the token to be freed")
    assert endpoint.registry.reservation_count() == 0
    assert endpoint.manager.group_names() == []
    assert endpoint.manager.connection_count() == 0
    assert endpoint.manager.get_connection(connection_id) is None
