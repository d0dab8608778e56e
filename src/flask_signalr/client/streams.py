"""Server-to-client streams as Python iterators.

The reader worker pushes items into a queue; the application's thread takes them with
``next()``. The connection keeps only the queue side (:class:`StreamSink`), so when the
application drops the iterator (``break`` out of a ``for`` loop) nothing else holds it, and its
finalizer cancels the stream on the server. ``close()`` and ``with`` do the same explicitly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from flask_signalr.client.runtime import Queue

_ITEM = 0
_END = 1


class StreamSink:
    """The connection's side of a stream: where items and the ending are delivered."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def item(self, value: Any) -> None:
        self._queue.put((_ITEM, value))

    def end(self, error: BaseException | None = None) -> None:
        """No more items; ``error`` (if any) is raised to the reader after the items."""
        self._queue.put((_END, error))


class HubStream(Iterator[Any]):
    """The items a hub's streaming method yields, in order.

    Iteration raises :class:`~flask_signalr.HubException` if the server ended the stream with an
    error (after every item sent before it), or
    :class:`~flask_signalr.client.errors.HubConnectionError` if the connection was lost.
    Closing it early (``close()``, leaving a ``with`` block, ``break``) cancels the stream on
    the server.
    """

    def __init__(self, invocation_id: str, queue: Queue, cancel: Callable[[str], None]) -> None:
        self.invocation_id = invocation_id
        self._queue = queue
        self._cancel = cancel
        self._finished = False

    def __iter__(self) -> HubStream:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value
        self._finished = True
        if value is not None:
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop receiving items; the server is told to stop producing them."""
        if not self._finished:
            self._finished = True
            self._cancel(self.invocation_id)

    def __enter__(self) -> HubStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # The application let go of an unfinished stream: release it on the server.
        with contextlib.suppress(Exception):
            self.close()
