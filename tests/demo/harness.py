"""The demo's browser-test harness: `python app.py` in a subprocess, Debian's Chromium.

Playwright meets gevent: this test process is monkey-patched (tests/conftest.py). Playwright's
sync API runs an asyncio loop in a greenlet of its own (its "dispatcher fiber") and switches to
it whenever a sync call waits. Under the patch, asyncio's selector is gevent's, so the loop's
waits are cooperative switches to gevent's hub, which switches back when the driver's pipe is
readable: the sync API works unchanged, as every test here shows. Two rules keep it robust:

- The demo runs in its own process, ``python app.py --port N`` exactly as a user runs it, so
  nothing the page talks to depends on which greenlet happens to be running in this one. It is
  also what lets a test stop the server and start it again on the same port.
- Playwright lives for one module only (module-scoped fixtures): between sync calls it marks its
  loop as the thread's running loop, which would break ``asyncio.run`` in tests that run after
  the demo's; leaving ``sync_playwright()`` clears it.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    expect,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 20.0

#: What a browser logs while the server it talks to is down: refused requests and the SignalR
#: client's own reports of failed (re)connection attempts. Tolerated only inside server_down().
SERVER_DOWN_NOISE = re.compile(
    r"net::ERR_CONNECTION_REFUSED|Failed to complete negotiation|Failed to start the "
    r"(connection|transport)|WebSocket connection to .* failed|Failed to fetch|"
    r"Connection disconnected with error|Error parsing negotiate response"
)

#: What `signalr.run` logs once the server listens (flask_signalr's INFO log, which app.py shows).
SERVING = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")

expect.set_options(timeout=10_000)


def wait_for_status(page: Page, status: str, timeout: float = 10_000) -> None:
    """Wait until ``#connection-status`` says ``status`` (every hub of the page).

    The same as ``expect(...).to_have_text(status)``, checked on every animation frame instead
    of expect's back-off (which polls every 500 ms after the first few tries): pages open and
    reconnect all the time here, and those half seconds add up.
    """
    page.wait_for_function(
        "status => document.querySelector('#connection-status').dataset.status === status",
        arg=status,
        polling="raf",
        timeout=timeout,
    )


class DemoServer:
    """`python app.py` in a subprocess; its output goes to ``log_path``.

    ``launch()`` starts the process, ``wait_until_up()`` waits until it listens; ``start()``
    does both. The first start asks for port 0 and reads the port the server got from its
    log, so no other process can take the port in between; later starts (after ``stop()``)
    reuse that port, as a restarted server does.
    """

    def __init__(self, log_path: Path, redis_url: str | None = None) -> None:
        self.port = 0
        self.log_path = log_path
        self.redis_url = redis_url
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        assert self.port, "the server has not started yet"
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> DemoServer:
        command = [sys.executable, "app.py", "--port", str(self.port)]
        if self.redis_url:
            command += ["--redis", self.redis_url]
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_until_up(self) -> DemoServer:
        """Wait for the server's "serving on http://127.0.0.1:PORT" (logged once it listens)."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while (listening := SERVING.search(self.log()[self._log_offset :])) is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"app.py did not start listening:\n{self.log()}")
            time.sleep(0.05)  # polling a log file: there is no event to wait on
        self.port = int(listening[1])
        return self

    def start(self) -> DemoServer:
        return self.launch().wait_until_up()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; the app closes connections and exits."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"app.py ignored SIGTERM:\n{self.log()}") from None
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of ``pattern`` in the server's output, once it has been written."""
        deadline = time.monotonic() + timeout
        while (match := re.search(pattern, self.log())) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} not in the server log:\n{self.log()}")
            time.sleep(0.05)
        return match


class DemoServers:
    """Hands out fresh demo servers, launching the next one while a test runs.

    Every test gets a server of its own (votes live in memory), and starting Python, gevent
    and Flask takes a noticeable part of a second: a spare launched in advance hides it.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._count = 0
        self._spare: DemoServer | None = None
        self.running: list[DemoServer] = []

    def _new(self, redis_url: str | None = None) -> DemoServer:
        self._count += 1
        return DemoServer(self._directory / f"demo-{self._count}.log", redis_url).launch()

    def start(self, redis_url: str | None = None) -> DemoServer:
        if redis_url is None and self._spare is not None:
            server, self._spare = self._spare, None
        else:
            server = self._new(redis_url)
        self.running.append(server)
        server.wait_until_up()
        if self._spare is None:
            self._spare = self._new()
        return server

    def stop_running(self) -> None:
        while self.running:
            self.running.pop().stop()

    def close(self) -> None:
        self.stop_running()
        if self._spare is not None:
            self._spare.stop()


class DemoPage:
    """A page of the demo in its own browser context, with every JS error it reports."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.tolerate_server_down = False
        page.on("pageerror", lambda error: self._error(f"pageerror: {error}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._error(f"console: {message.text}")

    def _error(self, text: str) -> None:
        if self.tolerate_server_down and SERVER_DOWN_NOISE.search(text):
            return
        self.errors.append(text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


class Pages:
    """Opens demo pages (one browser context each, so each has its own sign-in)."""

    def __init__(self, browser: Browser, server: DemoServer) -> None:
        self.browser = browser
        self.server = server
        self.opened: list[DemoPage] = []

    def open(
        self, user: str | None = None, protocol: str | None = None, server: DemoServer | None = None
    ) -> DemoPage:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = DemoPage(context.new_page(), user or f"anonymous-{len(self.opened) + 1}")
        self.opened.append(page)
        url = (server or self.server).url
        if user is not None:  # the login form's POST (test_sign_in_and_out uses the form itself)
            answer = context.request.post(url + "/login", form={"username": user, "password": user})
            assert answer.ok, answer.status
        page.goto(url + (f"/?protocol={protocol}" if protocol else "/"))
        expect(page.locator("#current-user")).to_have_text(user or "anonymous")
        wait_for_status(page.page, "connected")
        return page

    @contextmanager
    def server_down(self) -> Iterator[None]:
        """While the server is away, browsers may log refused connections; nothing else."""
        for page in self.opened:
            page.tolerate_server_down = True
        try:
            yield
        finally:
            for page in self.opened:
                page.tolerate_server_down = False

    def close(self) -> None:
        for page in self.opened:
            page.context.close()
