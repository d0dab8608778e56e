"""Every concurrency primitive the server uses, in one place.

The server runs on gevent; this is the only module that imports it, so the rest of the package
reads as plain blocking code and the choice of primitives can be reviewed in one file.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.lock
import gevent.pool
import gevent.queue
from gevent import Greenlet
from gevent.pywsgi import WSGIServer

Event = gevent.event.Event
AsyncResult = gevent.event.AsyncResult
Semaphore = gevent.lock.BoundedSemaphore
Lock = gevent.lock.RLock
Queue = gevent.queue.Queue
Timeout = gevent.Timeout
GreenletExit = gevent.GreenletExit
sleep = gevent.sleep

__all__ = [
    "AsyncResult",
    "Event",
    "Greenlet",
    "GreenletExit",
    "Lock",
    "Queue",
    "Semaphore",
    "Timeout",
    "WSGIServer",
    "call_soon",
    "getcurrent",
    "kill",
    "nonblocking_sender",
    "on_stop_signals",
    "sleep",
    "spawn",
    "spawn_later",
]


def spawn(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
    """Run ``function`` in a new greenlet."""
    return gevent.spawn(function, *args, **kwargs)


def spawn_later(seconds: float, function: Callable[..., Any], *args: Any) -> Greenlet:
    """Run ``function`` in a new greenlet after ``seconds``."""
    return gevent.spawn_later(seconds, function, *args)


def call_soon(function: Callable[[], Any]) -> None:
    """Run ``function`` in the event loop once the running greenlets have yielded."""
    gevent.get_hub().loop.run_callback(function)


def kill(greenlet: Greenlet, exception: type[BaseException] = GreenletExit) -> None:
    """Raise ``exception`` in ``greenlet`` at its next switch, without waiting for it."""
    greenlet.kill(exception, block=False)


def nonblocking_sender(sock: Any) -> Callable[[bytes], int]:
    """A function writing what ``sock`` takes right now, without waiting: the byte count."""
    send = sock.send

    def try_send(data: bytes) -> int:
        try:
            return int(send(data, 0, 0.0))  # gevent sockets: timeout 0 means never wait
        except BlockingIOError:
            return 0

    return try_send


def getcurrent() -> Any:
    """The running greenlet, used as a key for per-greenlet state."""
    return gevent.getcurrent()


def on_stop_signals(callback: Callable[[], None]) -> None:
    """Call ``callback`` in a fresh greenlet on SIGINT or SIGTERM."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, callback)
