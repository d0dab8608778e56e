"""Waiting for something a test can observe, and finding a free port: one copy for every suite."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

import gevent

_T = TypeVar("_T")


def wait_until(predicate: Callable[[], _T], timeout: float = 5.0, what: str = "") -> _T:
    """Poll ``predicate`` (yielding to the server) until it is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {what or predicate}.")
        gevent.sleep(0.005)


def free_port() -> int:
    """A loopback port nobody listens on (for servers the test starts in another process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
