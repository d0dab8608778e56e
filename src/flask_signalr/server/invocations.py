"""Where a connection's invocations run: a few worker greenlets per busy connection.

Starting a greenlet per call costs about three times what handing a call to a waiting worker
does, and a typical client calls again a few milliseconds after its last answer. So a
connection's calls go into a queue served by worker greenlets that linger for a moment after
the queue empties; an idle connection has none. Calls are taken in arrival order; how many run
at once is still decided by the connection's invocation slots, so a call that waits (for a
client result, say) lets the next one start on another worker.
"""

from __future__ import annotations

import logging
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

    __slots__ = ("_drained", "_idle", "_jobs", "_limit", "_wakeup", "_workers")

    def __init__(self, limit: int) -> None:
        self._jobs: deque[Job] = deque()
        self._limit = limit
        #: Live workers that are not parked in a client-result wait (idle ones included).
        self._workers = 0
        self._idle = 0
        self._wakeup = _concurrency.Event()
        self._drained = _concurrency.Event()

    def submit(self, job: Job) -> None:
        """Queue ``job``; waits (the reader) only while the queue is absurdly long."""
        while len(self._jobs) >= MAX_QUEUED:
            self._drained.clear()
            self._drained.wait()
        self._jobs.append(job)
        self._serve()

    def park(self) -> None:
        """The calling worker waits for a client: another worker may take the next call."""
        self._workers -= 1
        self._serve()

    def unpark(self) -> None:
        self._workers += 1

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
                woken = self._wakeup.wait(LINGER)
                self._idle -= 1
                if not woken and not jobs:
                    return
        finally:
            self._workers -= 1
