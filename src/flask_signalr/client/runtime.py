"""The concurrency primitives the client runs on, passed in rather than imported.

By default the client uses :mod:`threading`: its reader, keep-alive, reconnect and callback
workers are daemon threads. Attributes of :mod:`threading` and :mod:`queue` are looked up when a
primitive is made, not when this module is imported, so a process that calls
``gevent.monkey.patch_all()`` (even after importing the client) gets cooperative greenlets and
events. The in-process test client passes gevent primitives explicitly, so it also works in a
test process that is not monkey-patched, where the server's greenlets must be able to run while
the test waits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


class Event(Protocol):
    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class Queue(Protocol):
    def put(self, item: Any) -> None: ...

    def get(self) -> Any: ...


class Worker(Protocol):
    def join(self, timeout: float | None = None) -> Any: ...


@dataclass(frozen=True)
class Runtime:
    """Factories for every primitive the client uses."""

    event: Callable[[], Event]
    #: A reentrant lock.
    lock: Callable[[], AbstractContextManager[Any]]
    queue: Callable[[], Queue]
    #: Run ``function`` in the background; the string names the worker (for debugging).
    spawn: Callable[[Callable[[], None], str], Worker]
    #: An object identifying the running thread or greenlet.
    current: Callable[[], object]


def _spawn_thread(function: Callable[[], None], name: str) -> Worker:
    thread = threading.Thread(target=function, name=name, daemon=True)
    thread.start()
    return thread


THREADS = Runtime(
    event=lambda: threading.Event(),
    lock=lambda: threading.RLock(),
    queue=lambda: queue.SimpleQueue(),
    spawn=_spawn_thread,
    current=lambda: threading.get_ident(),
)
