"""Helpers for the Python client tests: awaitable events, handler inboxes, fixed-port servers."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from flask import Flask
from gevent.pywsgi import WSGIServer

from flask_signalr import SignalR

from support.apps import create_app

SCRIPTS = Path(__file__).resolve().parent / "scripts"
#: How long a test waits for something the server or a client should do.
WAIT = 10.0


class EventLog(list[Any]):
    """``TEST_EVENTS`` that a test can wait on: hub code appends, the test awaits an entry."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = gevent.event.Event()

    def append(self, item: Any) -> None:
        super().append(item)
        self._changed.set()

    def wait_for(
        self, predicate: Callable[[Any], bool], count: int = 1, timeout: float = WAIT
    ) -> list[Any]:
        """Wait until ``count`` entries match ``predicate``; return the matching entries."""
        with gevent.Timeout(timeout, AssertionError(f"no matching event; got {list(self)}")):
            while True:
                matching = [item for item in self if predicate(item)]
                if len(matching) >= count:
                    return matching
                self._changed.clear()
                self._changed.wait()


def event_log(app: Flask) -> EventLog:
    log = EventLog()
    app.config["TEST_EVENTS"] = log
    return log


class Inbox:
    """Collects handler calls (on any thread or greenlet); the test takes them in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()

    def __call__(self, *args: Any) -> None:
        self._queue.put(args)

    def put(self, value: Any) -> None:
        self._queue.put(value)

    def get(self, timeout: float = WAIT) -> Any:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived within {timeout} s") from None

    def empty(self) -> bool:
        return self._queue.empty()


class FixedPortServer:
    """A server on a chosen port, so a new one can take over the address after a stop."""

    def __init__(self, port: int, app_and_signalr: tuple[Flask, SignalR] | None = None) -> None:
        self.app, self.signalr = app_and_signalr or create_app()
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = WSGIServer(("127.0.0.1", port), self.app, log=None)
        self._server.start()
        self.running = True

    def hub_url(self, path: str) -> str:
        return self.url + path

    def stop(self) -> None:
        """Refuse new connections, tell clients to reconnect, then stop serving."""
        if self.running:
            self.running = False
            self._server.close()
            self.signalr.shutdown(self.app)
            self._server.stop(timeout=2)


def run_script(name: str, *args: str, timeout: float = 60.0) -> list[Any]:
    """Run ``scripts/<name>`` with this interpreter; return the JSON lines it printed."""
    process = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert process.returncode == 0, f"{name} failed:\n{process.stdout}\n{process.stderr}"
    return [json.loads(line) for line in process.stdout.splitlines() if line.strip()]
