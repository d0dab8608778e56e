"""Where a connection's invocations run: a few worker greenlets per busy connection.

Starting a greenlet per call costs about three times what handing a call to a waiting worker
does, and a typical client calls again a few milliseconds after its last answer. So a
connection's calls go into a queue served by worker greenlets that linger after the queue
empties; the hub's keep-alive clock retires workers idle for longer than ``LINGER`` (rather
than a timer per wait, which would cost every call), so an idle connection has none. Calls are
taken in arrival order; how many run at once is still decided by the connection's invocation
slots, so a call that waits (for a client result, say) lets the next one start elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from flask_signalr import _concurrency

logger = logging.getLogger("flask_signalr")

#: Seconds a worker waits for another call before it ends.
LINGER = 2.0
#: Calls queued beyond this make the reader wait, so a flood slows the client down instead of
#: growing the queue (TCP pushes back while the reader waits).
MAX_QUEUED = 1000

Job = Callable[[], None]


class InvocationQueue:
    """FIFO of one connection's pending calls, served by at most ``limit`` lingering workers."""

    __slots__ = (
        "_drained",
        "_idle",
        "_jobs",
        "_last_submit",
        "_limit",
        "_retiring",
        "_wakeup",
        "_workers",
    )

    def __init__(self, limit: int) -> None:
        self._jobs: deque[Job] = deque()
        self._limit = limit
        #: Live workers that are not parked in a client-result wait (idle ones included).
        self._workers = 0
        self._idle = 0
        self._wakeup = _concurrency.Event()
        self._drained = _concurrency.Event()
        self._last_submit = 0.0
        self._retiring = False

    def submit(self, job: Job) -> None:
        """Queue ``job``; waits (the reader) only while the queue is absurdly long."""
        while len(self._jobs) >= MAX_QUEUED:
            self._drained.clear()
            self._drained.wait()
        self._jobs.append(job)
        self._last_submit = time.monotonic()
        self._serve()

    def park(self) -> None:
        """The calling worker waits for a client: another worker may take the next call."""
        self._workers -= 1
        self._serve()

    def unpark(self) -> None:
        self._workers += 1

    def retire_idle(self, now: float) -> None:
        """End the idle workers if no call came for ``LINGER`` seconds (the clock calls it)."""
        if self._idle and now - self._last_submit > LINGER:
            self.close()

    def close(self) -> None:
        """End the idle workers now (the connection is gone, or quiet)."""
        if self._idle:
            self._retiring = True
            self._wakeup.set()

    def _serve(self) -> None:
        if not self._jobs:
            return
        if self._idle:
            self._wakeup.set()
        elif self._workers < self._limit:
            self._workers += 1
            _concurrency.spawn(self._work)

    def _work(self) -> None:
        jobs = self._jobs
        try:
            while True:
                while jobs:
                    job = jobs.popleft()
                    if len(jobs) < MAX_QUEUED:
                        self._drained.set()
                    try:
                        job()
                    except Exception:
                        logger.exception("An invocation failed outside the hub method.")
                self._idle += 1
                self._wakeup.clear()
                self._wakeup.wait()
                self._idle -= 1
                if self._retiring and not jobs:
                    if not self._idle:
                        self._retiring = False  # the last idle worker has left
                    return
        finally:
            self._workers -= 1
