"""Shared fixtures: gevent first, then a real server per test and the official JS client."""

from gevent import monkey

monkey.patch_all()

from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from support.apps import create_app  # noqa: E402
from support.js import JsDriver  # noqa: E402
from support.server import RunningServer  # noqa: E402


@pytest.fixture(scope="session")
def js() -> Iterator[JsDriver]:
    """The Node process hosting official-client connections (shared by the session)."""
    driver = JsDriver()
    yield driver
    driver.close()


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Start the interop app (or another app) with the given SignalR options."""
    servers: list[RunningServer] = []

    def start(app_and_signalr: Any = None, **options: Any) -> RunningServer:
        app, signalr = app_and_signalr or create_app(**options)
        server = RunningServer(app, signalr)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., RunningServer]) -> RunningServer:
    """The interop app with default options."""
    return start_server()
