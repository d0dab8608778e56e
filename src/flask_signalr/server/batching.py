"""Broadcasts made within one turn of the event loop leave as one write per connection.

A burst of broadcasts (a hub method sending in a loop, a client firing many invocations that
each broadcast) would otherwise cost one socket write per message per connection. The protocol
allows several records in one WebSocket frame (or SSE event, or poll body), so the records of
the broadcasts pending when the loop turns are joined into one chunk per wire format, encoded
once and written to every connection with one system call each.

Order per connection is kept: before anything else is sent to a connection while broadcasts
are pending, that connection first gets the broadcasts it has not had yet ("catch up"). A
connection that joins while broadcasts are pending gets only the ones made after it joined.
A batch is sent at once when it grows past a size limit, so a long burst never piles up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask_signalr import _concurrency
from flask_signalr.protocol.base import HubProtocol
from flask_signalr.server.serialized import SerializedMessage

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.server.connection import HubConnection

#: A pending batch is sent at once when its largest encoding reaches this many bytes.
BATCH_LIMIT = 64 * 1024


class BroadcastBatch:
    """Broadcasts not yet sent, and their joined encodings per wire format."""

    __slots__ = ("_chunks", "messages", "size")

    def __init__(self) -> None:
        self.messages: list[SerializedMessage] = []
        self.size = 0
        self._chunks: dict[tuple[str, str], bytes] = {}

    def add(self, message: SerializedMessage, protocols: Iterable[HubProtocol]) -> None:
        """Append ``message``, encoded now for every protocol in use (errors reach the sender)."""
        self.size += max((len(message.record_for(p)) for p in protocols), default=0)
        self.messages.append(message)
        self._chunks.clear()  # joined before this message (by a catch-up): now incomplete

    def chunk_for(self, connection: HubConnection, start: int) -> bytes:
        """The bytes carrying ``messages[start:]`` for ``connection``'s wire format."""
        if start:  # a connection that caught up before: rare, not shared
            return self._join(connection, start)
        key = connection.output_key
        chunk = self._chunks.get(key)
        if chunk is None:
            chunk = self._chunks[key] = self._join(connection, 0)
        return chunk

    def _join(self, connection: HubConnection, start: int) -> bytes:
        protocol = connection.protocol
        records = b"".join(message.record_for(protocol) for message in self.messages[start:])
        return connection.encode_record(records)


class Broadcaster:
    """Coalesces the broadcasts of one hub's connections (see the module docstring)."""

    def __init__(
        self,
        connections: Callable[[], Iterable[HubConnection]],
        protocols: Callable[[], Iterable[HubProtocol]],
    ) -> None:
        self._connections = connections
        self._protocols = protocols
        self.pending: BroadcastBatch | None = None

    def broadcast(self, message: SerializedMessage) -> None:
        """Send ``message`` to every connection at the end of this loop turn (or sooner)."""
        batch = self.pending
        if batch is None:
            batch = self.pending = BroadcastBatch()
            _concurrency.call_soon(self.flush)
        batch.add(message, self._protocols())
        if batch.size >= BATCH_LIMIT:
            self.flush()

    def joined(self, connection: HubConnection) -> None:
        """A connection arrived: it must not receive broadcasts made before it did."""
        connection.broadcaster = self
        connection.broadcasts_sent = len(self.pending.messages) if self.pending else 0

    def catch_up(self, connection: HubConnection) -> None:
        """Send ``connection`` the pending broadcasts it has not had (before something else)."""
        batch = self.pending
        if batch is None or connection.broadcasts_sent >= len(batch.messages):
            return
        chunk = batch.chunk_for(connection, connection.broadcasts_sent)
        connection.broadcasts_sent = len(batch.messages)
        connection.write_chunk(chunk)

    def flush(self) -> None:
        """Send every pending broadcast now."""
        batch, self.pending = self.pending, None
        if batch is None:
            return
        count = len(batch.messages)
        for connection in tuple(self._connections()):
            start, connection.broadcasts_sent = connection.broadcasts_sent, 0
            if start < count and connection.is_connected:
                connection.write_chunk(batch.chunk_for(connection, start))
