"""Shared fixtures: gevent first, then a real server per test and the official JS client."""

from gevent import monkey

monkey.patch_all()

from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from support.apps import create_app  # noqa: E402
from support.js import JsDriver  # noqa: E402
from support.server import RunningServer  # noqa: E402

# Property tests check correctness, not speed: on a loaded 2-core CI machine input generation can
# be slow, which must not fail the suite.
settings.register_profile(
    "signalr",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("signalr")


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


#: Transport x protocol combinations the official-client suites run over.
CLIENT_KINDS = [
    pytest.param(("WebSockets", "json"), id="ws-json"),
    pytest.param(("WebSockets", "messagepack"), id="ws-msgpack"),
    pytest.param(("ServerSentEvents", "json"), id="sse-json"),
    pytest.param(("LongPolling", "json"), id="lp-json"),
    pytest.param(("LongPolling", "messagepack"), id="lp-msgpack"),
]


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def connect(
    js: JsDriver, server: RunningServer, client_kind: tuple[str, str]
) -> Iterator[Callable[..., Any]]:
    """Open official-client connections to the interop server (this test's transport, protocol)."""
    transport, protocol = client_kind
    opened = []

    def open_connection(path: str = "/hubs/test", *handlers: str, **options: Any) -> Any:
        options.setdefault("transport", transport)
        options.setdefault("protocol", protocol)
        connection = js.connect(server.hub_url(path), handlers=handlers, **options)
        opened.append(connection)
        return connection

    yield open_connection
    for connection in opened:
        connection.stop()
