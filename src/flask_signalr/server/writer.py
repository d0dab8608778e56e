"""Outbound bytes for one peer, pushed to a socket or held until the peer fetches them.

:class:`StreamWriter` serves transports that own a socket (WebSockets). Like an asyncio
transport's ``write()``: a sender (a broadcast, another connection's hub method) first tries a
non-blocking write; only what the kernel cannot take right now is queued, and a drain greenlet,
which exists only while something is queued, finishes the job. So a send never waits for a
slow client, a fast client gets its bytes with no extra greenlet switch, and a burst to a fast
client does not pile up in memory. A queue that grows past its limit means the peer is not
reading: the caller is told, and drops the connection. A peer that stalls a write for too long
is dropped too.

:class:`PendingOutput` serves the HTTP transports, where the peer pulls: a Server-Sent Events
response loop or a long poll takes whatever has accumulated. Senders still never wait; the same
limit bounds what may pile up while nobody is fetching.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from flask_signalr import _concurrency

logger = logging.getLogger("flask_signalr")


class StreamWriter:
    """Queue of byte chunks written in order to one peer by a lazily spawned greenlet."""

    def __init__(
        self,
        write: Callable[[bytes], None],
        try_write: Callable[[bytes], int],
        limit: int,
        stall_timeout: float,
        on_finished: Callable[[], None],
    ) -> None:
        """``write`` blocks until all bytes are out; ``try_write`` writes what fits now."""
        self._write = write
        self._try_write = try_write
        self._limit = limit
        self._stall_timeout = stall_timeout
        self._on_finished = on_finished
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._draining = False
        self._closing = False
        self._finished = False
        #: Set once everything is written (or dropped) and ``on_finished`` ran.
        self.done = _concurrency.Event()

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def send(self, chunk: bytes) -> bool:
        """Queue ``chunk``; False when the queue is over its limit (the peer is too slow)."""
        if self._closing or self._finished:
            return True  # the connection is ending; late messages are dropped quietly
        if not self._draining:
            try:
                written = self._try_write(chunk)
            except OSError:
                self.abort()  # the peer is gone; the reader side reports the disconnect
                return True
            if written == len(chunk):
                return True
            chunk = chunk[written:]
        self._queue.append(chunk)
        self._queued_bytes += len(chunk)
        if self._queued_bytes > self._limit:
            return False
        self._start_drain()
        return True

    def close(self, final: bytes = b"") -> None:
        """Write everything queued, then ``final``, then finish."""
        if self._closing or self._finished:
            return
        if final:
            self._queue.append(final)
            self._queued_bytes += len(final)
        self._closing = True
        if self._queue:
            self._start_drain()
        else:
            self._finish()

    def abort(self) -> None:
        """Drop everything queued and finish now."""
        self._queue.clear()
        self._queued_bytes = 0
        self._finish()

    def _start_drain(self) -> None:
        if not self._draining and not self._finished:
            self._draining = True
            _concurrency.spawn(self._drain)

    def _drain(self) -> None:
        try:
            while self._queue and not self._finished:
                chunks = list(self._queue)
                self._queue.clear()
                self._queued_bytes = 0
                data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                with _concurrency.Timeout(self._stall_timeout):
                    self._write(data)
        except _concurrency.Timeout:
            logger.warning("A client stopped reading for %ss; dropping it.", self._stall_timeout)
            self.abort()
        except OSError:
            self.abort()  # the peer is gone; the reader side reports the disconnect
        finally:
            self._draining = False
        if self._closing:
            self._finish()

    def _finish(self) -> None:
        if not self._finished:
            self._finished = True
            self._on_finished()
            self.done.set()


class PendingOutput:
    """Bytes waiting for the peer's next fetch; at most one fetcher at a time.

    A fetch (:meth:`take`) returns everything pending at once, which is what a long poll
    answers with and what a Server-Sent Events loop writes in one go.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        #: Set while a fetch would return at once: data is pending, or the output is over.
        self._ready = _concurrency.Event()
        self._closing = False

    def send(self, chunk: bytes) -> bool:
        """Add ``chunk``; False when more than the limit is pending (the peer is not fetching)."""
        if self._closing:
            return True  # the connection is ending; late messages are dropped quietly
        self._chunks.append(chunk)
        self._size += len(chunk)
        self._ready.set()
        return self._size <= self._limit

    def take(self, timeout: float | None) -> bytes | None:
        """Everything pending, waiting up to ``timeout`` seconds for something to arrive.

        Returns ``b""`` when the wait timed out and None once the output is over: after
        :meth:`close`, the pending bytes are still returned first, and None only afterwards.
        """
        if not self._ready.wait(timeout):
            return b""
        if not self._chunks:
            return None
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        if not self._closing:
            self._ready.clear()
        return data

    def close(self) -> None:
        """Accept nothing more; what is pending is still delivered, then the output ends."""
        self._closing = True
        self._ready.set()

    def abort(self) -> None:
        """Drop what is pending and end the output now."""
        self._chunks.clear()
        self._size = 0
        self._closing = True
        self._ready.set()
