"""Fixtures for the Python client tests: clients per protocol, server events, restarts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from client.helpers import EventLog, FixedPortServer, event_log
from flask_signalr import SignalR
from flask_signalr.client import HubConnection, HubConnectionBuilder
from flask_signalr.testing import HubTestClient

from support.apps import create_app
from support.server import RunningServer


@pytest.fixture(params=["json", "messagepack"])
def protocol(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def events(server: RunningServer) -> EventLog:
    return event_log(server.app)


@pytest.fixture
def make_client(server: RunningServer, protocol: str) -> Iterator[Callable[..., HubConnection]]:
    """Build (and by default start) clients of the interop server in this test's protocol."""
    made: list[HubConnection] = []

    def make(
        path: str = "/hubs/test",
        start: bool = True,
        configure: Callable[[HubConnectionBuilder], Any] | None = None,
        target: RunningServer | None = None,
        **url_options: Any,
    ) -> HubConnection:
        builder = HubConnectionBuilder().with_url((target or server).hub_url(path), **url_options)
        builder.with_hub_protocol(protocol)
        if configure is not None:
            configure(builder)
        connection = builder.build()
        made.append(connection)
        if start:
            connection.start()
        return connection

    yield make
    for connection in made:
        connection.stop()


@pytest.fixture
def hub_app() -> tuple[Flask, SignalR, EventLog]:
    """The interop app, not served: the test client needs no server."""
    app, signalr = create_app()
    return app, signalr, event_log(app)


@pytest.fixture
def test_client(
    hub_app: tuple[Flask, SignalR, EventLog],
) -> Iterator[Callable[..., HubTestClient]]:
    """In-process test clients of ``hub_app`` (what ``signalr.test_client(path)`` returns)."""
    made: list[HubTestClient] = []

    def make(path: str = "/hubs/test", user: Any = None, **options: Any) -> HubTestClient:
        client = hub_app[1].test_client(path, user, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def fixed_port_servers() -> Iterator[Callable[[int], FixedPortServer]]:
    servers: list[FixedPortServer] = []

    def start(port: int) -> FixedPortServer:
        server = FixedPortServer(port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
