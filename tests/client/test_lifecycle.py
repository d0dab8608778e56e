"""Keep-alive, server timeout, server-initiated close, automatic reconnect and stop()."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import jsonify, request

from client.helpers import FixedPortServer, Inbox
from flask_signalr.client import (
    HttpError,
    HubConnection,
    HubConnectionBuilder,
    HubConnectionError,
    HubConnectionState,
    RetryContext,
)
from flask_signalr.protocol.messages import PingMessage
from flask_signalr.server.connection import HubConnection as ServerConnection

from support.server import RunningServer
from support.waiting import free_port

Make = Callable[..., HubConnection]


def quick_retries(count: int = 400) -> list[float]:
    return [0.02] * count


# -- keep-alive and timeouts --------------------------------------------------------------------


def test_client_pings_keep_an_idle_connection_open(
    make_client: Make, start_server: Callable[..., RunningServer], monkeypatch: Any
) -> None:
    strict = start_server(client_timeout_interval=0.4)
    dispatcher = strict.endpoint("/hubs/test").dispatcher
    pings = Inbox()
    dispatch = dispatcher.dispatch

    def counting(connection: Any, message: Any) -> None:
        if isinstance(message, PingMessage):
            pings.put(time.monotonic())
        dispatch(connection, message)

    monkeypatch.setattr(dispatcher, "dispatch", counting)
    connection = make_client(
        target=strict, configure=lambda builder: builder.with_keep_alive_interval(0.1)
    )
    stamps = [pings.get() for _ in range(8)]  # idle for longer than the server's timeout
    assert stamps[-1] - stamps[0] > 0.4
    assert connection.state is HubConnectionState.CONNECTED
    assert connection.invoke("Add", 1, 2) == 3


def test_a_silent_server_is_detected(
    make_client: Make, start_server: Callable[..., RunningServer]
) -> None:
    silent = start_server(keep_alive_interval=60)
    closed = Inbox()
    connection = make_client(
        target=silent, configure=lambda builder: builder.with_server_timeout(0.3)
    )
    connection.on_close(closed)
    (error,) = closed.get()
    assert isinstance(error, HubConnectionError)
    assert str(error) == "Server timeout elapsed without receiving a message from the server."
    assert connection.state is HubConnectionState.DISCONNECTED


def test_server_pings_keep_the_client_happy(
    make_client: Make, start_server: Callable[..., RunningServer], monkeypatch: Any
) -> None:
    chatty = start_server(keep_alive_interval=0.05)
    pings = Inbox()
    send_ping = ServerConnection.send_ping

    def counting(self: ServerConnection) -> None:
        pings.put(time.monotonic())
        send_ping(self)

    monkeypatch.setattr(ServerConnection, "send_ping", counting)
    closed = Inbox()
    connection = make_client(
        target=chatty, configure=lambda builder: builder.with_server_timeout(0.3)
    )
    connection.on_close(closed)
    stamps = [pings.get() for _ in range(10)]  # longer than the client's timeout
    assert stamps[-1] - stamps[0] > 0.3
    assert closed.empty()
    assert connection.invoke("Add", 1, 2) == 3


# -- server-initiated close ----------------------------------------------------------------------


def test_server_abort_closes_without_reconnecting(make_client: Make) -> None:
    closed, reconnecting = Inbox(), Inbox()
    connection = make_client(
        configure=lambda builder: builder.with_automatic_reconnect(quick_retries())
    )
    connection.on_close(closed)
    connection.on_reconnecting(reconnecting)
    connection.send("AbortMe")
    assert closed.get() == (None,)
    assert reconnecting.empty()
    assert connection.state is HubConnectionState.DISCONNECTED


def test_on_connected_failure_closes_with_the_servers_error(make_client: Make) -> None:
    closed = Inbox()
    connection = make_client("/hubs/explode", start=False)
    connection.on_close(closed)
    try:
        connection.start()
    except HubConnectionError as error:  # the Close can beat start() to the finish line
        reason = error.__cause__
    else:
        (reason,) = closed.get()
    assert str(reason) == "Server returned an error on close: Connection closed with an error."
    assert connection.state is HubConnectionState.DISCONNECTED


# -- automatic reconnect -------------------------------------------------------------------------


def test_reconnect_after_a_server_restart_rejoins_groups(
    fixed_port_servers: Callable[[int], FixedPortServer],
) -> None:
    port = free_port()
    first = fixed_port_servers(port)
    connection = (
        HubConnectionBuilder()
        .with_url(first.hub_url("/hubs/test"))
        .with_automatic_reconnect(quick_retries())
        .build()
    )
    reconnecting, reconnected, messages, rejoined = Inbox(), Inbox(), Inbox(), Inbox()

    def rejoin(connection_id: str | None) -> None:
        reconnected.put(connection_id)
        connection.invoke("Join", "orange")  # group membership belongs to the old connection
        rejoined.put(True)

    connection.on_reconnecting(reconnecting)
    connection.on_reconnected(rejoin)
    connection.on("FromView", messages)
    connection.start()
    try:
        connection.invoke("Join", "orange")
        old_id = connection.connection_id
        first.stop()
        reconnecting.get()
        assert connection.state is HubConnectionState.RECONNECTING
        with pytest.raises(HubConnectionError, match="'Reconnecting'"):
            connection.invoke("Add", 1, 1)
        second = fixed_port_servers(port)
        new_id = reconnected.get()
        rejoined.get()
        assert new_id == connection.connection_id != old_id
        assert connection.state is HubConnectionState.CONNECTED
        second.signalr.hub_context("/hubs/test").clients.group("orange").send("FromView", "hi")
        assert messages.get() == ("hi",)
    finally:
        connection.stop()


def test_stop_during_reconnect_ends_it(
    fixed_port_servers: Callable[[int], FixedPortServer],
) -> None:
    port = free_port()
    server = fixed_port_servers(port)
    connection = (
        HubConnectionBuilder()
        .with_url(server.hub_url("/hubs/test"))
        .with_automatic_reconnect([0, 0.01, 30])
        .build()
    )
    reconnecting, reconnected, closed = Inbox(), Inbox(), Inbox()
    connection.on_reconnecting(reconnecting)
    connection.on_reconnected(reconnected)
    connection.on_close(closed)
    connection.start()
    server.stop()
    reconnecting.get()
    started = time.monotonic()
    connection.stop()  # the policy is waiting 30 s before its third attempt
    assert time.monotonic() - started < 5
    assert connection.state is HubConnectionState.DISCONNECTED
    assert closed.get() == (None,)
    assert reconnected.empty() and closed.empty()  # stop() joined the reconnect worker


def test_stop_while_reconnect_attempts_run(
    fixed_port_servers: Callable[[int], FixedPortServer],
) -> None:
    port = free_port()
    server = fixed_port_servers(port)
    attempts, closed, reconnected = Inbox(), Inbox(), Inbox()

    class Relentless:
        def next_retry_delay(self, context: RetryContext) -> float | None:
            attempts.put(context.previous_retry_count)
            return 0.0

    connection = (
        HubConnectionBuilder()
        .with_url(server.hub_url("/hubs/test"))
        .with_automatic_reconnect(Relentless())
        .build()
    )
    connection.on_close(closed)
    connection.on_reconnected(reconnected)
    connection.start()
    server.stop()
    while attempts.get() < 3:  # attempts keep failing: nothing listens on the port
        pass
    connection.stop()
    assert closed.get() == (None,)
    assert connection.state is HubConnectionState.DISCONNECTED
    assert closed.empty() and reconnected.empty()


def test_retry_policy_object_gets_the_context_and_may_give_up(
    make_client: Make, server: Any
) -> None:
    contexts: list[RetryContext] = []

    class TwoTries:
        def next_retry_delay(self, context: RetryContext) -> float | None:
            contexts.append(context)
            return 0.0 if context.previous_retry_count < 2 else None

    closed, reconnecting = Inbox(), Inbox()
    connection = make_client(configure=lambda builder: builder.with_automatic_reconnect(TwoTries()))
    connection.on_close(closed)
    connection.on_reconnecting(reconnecting)
    refuse_negotiate(server)
    server.endpoint("/hubs/test").close_all(reconnect=True)
    assert reconnecting.get() == (None,)
    (reason,) = closed.get()
    assert [context.previous_retry_count for context in contexts] == [0, 1, 2]
    assert contexts[0].retry_reason is None
    assert isinstance(contexts[1].retry_reason, HubConnectionError)
    assert isinstance(reason, HubConnectionError)
    assert "This connection is not allowed." in str(reason)
    assert connection.state is HubConnectionState.DISCONNECTED


def refuse_negotiate(server: RunningServer) -> None:
    """Make the test hub's negotiate answer with the protocol's error form from now on."""
    views = server.app.view_functions
    views["signalr.hubs.test.negotiate"] = lambda: jsonify(error="This connection is not allowed.")


def test_no_reconnect_without_a_policy_or_after_a_failed_start(
    make_client: Make, server: Any
) -> None:
    closed = Inbox()
    connection = make_client()
    connection.on_close(closed)
    server.endpoint("/hubs/test").close_all(reconnect=True)
    assert closed.get() == (None,)
    assert connection.state is HubConnectionState.DISCONNECTED

    port = free_port()  # nothing listens there
    never = (
        HubConnectionBuilder()
        .with_url(f"http://127.0.0.1:{port}/hubs/test")
        .with_automatic_reconnect(quick_retries())
        .build()
    )
    with pytest.raises(HubConnectionError, match="Failed to complete negotiation"):
        never.start()
    assert never.state is HubConnectionState.DISCONNECTED


# -- negotiate -----------------------------------------------------------------------------------


def test_negotiate_redirect_is_followed_with_its_token(
    make_client: Make, server: RunningServer
) -> None:
    def redirect() -> Any:
        return jsonify(url=request.host_url + "hubs/secure", accessToken="token-admin")

    server.app.add_url_rule("/redirect/negotiate", view_func=redirect, methods=["POST"])
    connection = make_client("/redirect")
    assert connection.invoke("Whoami") == "admin"


def test_negotiate_error_form_fails_start(make_client: Make, server: RunningServer) -> None:
    refuse_negotiate(server)
    connection = make_client(start=False)
    with pytest.raises(HubConnectionError) as raised:
        connection.start()
    assert str(raised.value) == "This connection is not allowed."


def test_unauthorized_and_missing_hubs_fail_start_with_the_status(make_client: Make) -> None:
    with pytest.raises(HttpError) as raised:
        make_client("/hubs/secure")
    assert raised.value.status_code == 401
    with pytest.raises(HttpError) as raised:
        make_client("/hubs/admin", access_token_factory=lambda: "token-kevin")
    assert raised.value.status_code == 403
    with pytest.raises(HttpError) as raised:
        make_client("/hubs/nowhere")
    assert raised.value.status_code == 404
    assert "Either this is not a SignalR endpoint" in str(raised.value)


def test_builder_refuses_bad_settings() -> None:
    builder = HubConnectionBuilder()
    with pytest.raises(RuntimeError, match="with_url"):
        builder.build()
    with pytest.raises(ValueError, match="http://"):
        builder.with_url("127.0.0.1:5000/hub")
    with pytest.raises(ValueError, match="Unknown hub protocol"):
        builder.with_hub_protocol("xml")
    with pytest.raises(ValueError, match="Unknown transport"):
        builder.with_url("http://h/hub", transport="Carrier pigeon")
    with pytest.raises(ValueError, match="Negotiation can only be skipped"):
        builder.with_url("http://h/hub", skip_negotiation=True).build()
    with pytest.raises(ValueError, match="positive"):
        builder.with_server_timeout(0)
    with pytest.raises(ValueError, match="Retry delays"):
        builder.with_automatic_reconnect([1, -2])
    with pytest.raises(TypeError, match="next_retry_delay"):
        builder.with_automatic_reconnect(5)  # type: ignore[arg-type]


def test_stop_is_clean_and_on_close_has_run_when_it_returns(make_client: Make) -> None:
    closed: list[Any] = []
    connection = make_client()
    connection.on_close(closed.append)
    connection.stop()
    assert closed == [None]


def test_context_manager_starts_and_stops(server: RunningServer) -> None:
    with HubConnectionBuilder().with_url(server.hub_url("/hubs/test")).build() as connection:
        assert connection.invoke("Add", 2, 2) == 4
    assert connection.state is HubConnectionState.DISCONNECTED
