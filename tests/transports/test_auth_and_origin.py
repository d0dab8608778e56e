"""The HTTP transports admit exactly whom WebSockets admit, on every request of a connection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from transports.http_client import HttpHub, MakeHub, handshake, json_records, record

from support.server import RunningServer

EVIL = "http://evil.example"
GOOD = "http://good.example"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def whoami(hub: HttpHub, token: str, headers: dict[str, str]) -> list[object]:
    """Invoke Whoami on a long-polling connection and return what the poll brings."""
    call = record({"type": 1, "invocationId": "w", "target": "Whoami", "arguments": []})
    assert hub.post(token, call, headers=headers).status_code == 200
    return [m.get("result") for m in json_records(hub.poll(token, headers=headers).content)]


# -- origin ------------------------------------------------------------------------------------


def test_foreign_origin_is_refused_on_every_request_without_cors(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server)
    token = hub.long_polling()
    stream_token = hub.token()
    origin = {"Origin": EVIL}
    responses = [
        hub.poll(token, headers=origin),
        hub.post(token, b'{"type":6}\x1e', headers=origin),
        hub.delete(token, headers=origin),
        hub.stream_request(stream_token, headers=origin),
    ]
    assert [r.status_code for r in responses] == [403] * 4
    assert all("Access-Control-Allow-Origin" not in r.headers for r in responses)
    assert hub.post(token, b'{"type":6}\x1e').status_code == 200  # the connection lives on
    assert server.endpoint("/hubs/test").registry.reservation_count() == 1  # token not used up


def test_allowed_origin_gets_cors_on_every_request(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(allowed_origins=[GOOD], long_polling_timeout=0.1)
    hub = http_hub(server)
    origin = {"Origin": GOOD}
    token = hub.long_polling(headers=origin)
    stream = hub.stream_request(hub.token(headers=origin), headers=origin)
    responses = [
        hub.poll(token, headers=origin),
        hub.post(token, b'{"type":6}\x1e', headers=origin),
        hub.delete(token, headers=origin),
        stream,
    ]
    assert [r.status_code for r in responses] == [200, 200, 202, 200]
    for response in responses:
        assert response.headers["Access-Control-Allow-Origin"] == GOOD
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
    stream.close()


def test_preflight_allows_delete(
    start_server: Callable[..., RunningServer], http_hub: MakeHub
) -> None:
    server = start_server(allowed_origins=[GOOD])
    response = requests.options(
        http_hub(server).url,
        headers={"Origin": GOOD, "Access-Control-Request-Method": "DELETE"},
        timeout=5,
    )
    assert response.status_code == 204
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Origin"] == GOOD


# -- authentication ----------------------------------------------------------------------------


def test_access_token_query_authenticates_the_event_stream(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server, "/hubs/secure")
    token = hub.token(headers=bearer("token-kevin"))
    assert hub.stream_request(token).status_code == 401
    stream = hub.open_stream(token, params={"access_token": "token-kevin"})
    assert stream.next_chunk() == b":\r\n"
    # POSTs carry the header, as the JS client sends them.
    assert hub.post(token, handshake(), headers=bearer("token-kevin")).status_code == 200
    assert stream.next_data() == b"{}\x1e"
    call = record({"type": 1, "invocationId": "1", "target": "Whoami", "arguments": []})
    assert hub.post(token, call).status_code == 401
    assert hub.post(token, call, headers=bearer("token-bob")).status_code == 403
    assert hub.post(token, call, headers=bearer("token-kevin")).status_code == 200
    assert stream.next_message() == {"type": 3, "invocationId": "1", "result": "kevin"}


def test_bearer_header_authenticates_every_long_polling_request(
    server: RunningServer, http_hub: MakeHub
) -> None:
    hub = http_hub(server, "/hubs/secure")
    kevin = bearer("token-kevin")
    token = hub.token(headers=kevin)
    assert hub.poll(token).status_code == 401
    assert server.endpoint("/hubs/secure").registry.reservation_count() == 1  # not used up
    assert hub.poll(token, headers=kevin).status_code == 200
    assert hub.post(token, handshake(), headers=kevin).status_code == 200
    assert hub.poll(token, headers=kevin).content == b"{}\x1e"
    assert whoami(hub, token, kevin) == ["kevin"]
    assert hub.poll(token, headers=bearer("token-bob")).status_code == 403
    assert hub.delete(token).status_code == 401
    assert hub.delete(token, headers=bearer("token-bob")).status_code == 403
    assert hub.delete(token, headers=kevin).status_code == 202


def test_hub_roles_apply_to_http_transports(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server, "/hubs/admin")
    token = hub.token(headers=bearer("token-admin"))
    assert hub.poll(token, headers=bearer("token-kevin")).status_code == 403
    assert hub.stream_request(token, params={"access_token": "token-kevin"}).status_code == 403
    assert hub.poll(token, headers=bearer("token-admin")).status_code == 200


def test_session_cookie_identifies_the_user(server: RunningServer, http_hub: MakeHub) -> None:
    hub = http_hub(server, "/hubs/secure")
    with requests.Session() as session:
        assert session.post(server.url + "/login/kevin", timeout=5).status_code == 200
        cookie = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}
    token = hub.long_polling(headers=cookie)
    assert whoami(hub, token, cookie) == ["kevin"]


@pytest.mark.parametrize("requester", [None, "token-kevin"])
def test_an_anonymous_connection_takes_any_requester(
    server: RunningServer, http_hub: MakeHub, requester: str | None
) -> None:
    """A page that signs in keeps its open connection, as it would over WebSockets."""
    hub = http_hub(server)
    token = hub.long_polling()
    headers = bearer(requester) if requester else {}
    result = whoami(hub, token, headers)[0]
    assert isinstance(result, dict)
    assert result["userIdentifier"] is None
