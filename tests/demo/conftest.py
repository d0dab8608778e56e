"""Fixtures for the demo's browser tests (see demo/harness.py for how Playwright meets gevent)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from demo.harness import CHROMIUM, CHROMIUM_ARGS, DemoServer, DemoServers, Pages

from support.redis_server import RedisServer


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def demo_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServers]:
    servers = DemoServers(tmp_path_factory.mktemp("demo-servers"))
    yield servers
    servers.close()


@pytest.fixture
def start_demo(demo_servers: DemoServers) -> Iterator[Callable[..., DemoServer]]:
    """``start_demo(redis_url=None)``: a `python app.py` of this test's own, on a free port."""
    yield demo_servers.start
    demo_servers.stop_running()


@pytest.fixture
def demo_server(start_demo: Callable[..., DemoServer]) -> DemoServer:
    return start_demo()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A private redis-server (Debian's; `make test` installs it) on a free port.

    Ask for it before ``pages``/``start_demo`` so that it outlives the servers using it.
    """
    server = RedisServer()
    yield server.url
    server.close()


@pytest.fixture
def pages(browser: Browser, demo_server: DemoServer) -> Iterator[Pages]:
    opened = Pages(browser, demo_server)
    yield opened
    errors = {page.name: page.errors for page in opened.opened if page.errors}
    opened.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def screenshot_path(tmp_path: Path) -> Callable[[], list[Path]]:
    """Where to save the demo's screenshot: tmp_path, and $DEMO_SCREENSHOT when set."""

    def paths() -> list[Path]:
        targets = [tmp_path / "screenshot.png"]
        if os.environ.get("DEMO_SCREENSHOT"):
            targets.append(Path(os.environ["DEMO_SCREENSHOT"]))
        return targets

    return paths
