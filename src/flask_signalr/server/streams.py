"""Client-to-server (upload) streams: what a hub parameter annotated ``Iterator[T]`` receives.

Items arrive on the connection's reader greenlet and wait in a small bounded buffer until the
hub method takes them. When the buffer is full the reader waits too, so a client that uploads
faster than the hub consumes is slowed down by TCP instead of growing memory without limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_signalr import _concurrency
from flask_signalr.errors import HubException
from flask_signalr.server.binding import Checker
from flask_signalr.server.error_texts import InvalidDataException

#: Items buffered per upload stream before the reader waits (ASP.NET's StreamBufferCapacity).
STREAM_BUFFER_CAPACITY = 10

_END = object()


class UploadStream(Iterator[Any]):
    """Iterator over the items a client streams to one hub method parameter."""

    def __init__(self, stream_id: str, check_item: Checker) -> None:
        self.stream_id = stream_id
        self._check_item = check_item
        self._items: _concurrency.Queue = _concurrency.Queue(STREAM_BUFFER_CAPACITY)
        self._error: BaseException | None = None
        self._accepting = True
        self._ended = False

    def __iter__(self) -> UploadStream:
        return self

    def __next__(self) -> Any:
        if self._ended:
            raise StopIteration
        item = self._items.get()
        if item is _END:
            self._ended = True
            if self._error is not None:
                raise self._error
            raise StopIteration
        return item

    def put(self, item: Any) -> None:
        """Add an item from the client (blocks the reader while the buffer is full)."""
        if not self._accepting:
            return
        try:
            checked = self._check_item(item)
        except InvalidDataException as exc:
            self.complete(exc)
            return
        self._items.put(checked)

    def complete(self, error: BaseException | str | None = None) -> None:
        """The client ended the stream; ``error`` (its text, or a bad item) reaches the hub."""
        if not self._accepting:
            return
        self._accepting = False
        if error is not None:
            self._error = HubException(error) if isinstance(error, str) else error
        self._items.put(_END)

    def abandon(self) -> None:
        """The hub method is done with the stream: drop what is buffered, accept nothing more.

        Draining also frees a reader blocked on a full buffer.
        """
        self._accepting = False
        while not self._items.empty():
            self._items.get_nowait()
