"""Per-connection state: identity, chosen protocol, the outbound path and liveness clocks.

A :class:`HubConnection` is what lifetime managers store and what hub proxies send to. Sending
never blocks and never raises because of the peer: bytes go to the transport's bounded outbound
buffer, and a peer that lets the buffer overflow is aborted instead of slowing anyone down.
"""

from __future__ import annotations

import enum
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from flask_signalr import _concurrency
from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.messages import PING, CloseMessage, HubMessage
from flask_signalr.server.client_results import ClientResults
from flask_signalr.server.invocations import InvocationQueue

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.server.batching import Broadcaster
from flask_signalr.server.scope import RequestScope
from flask_signalr.server.serialized import SerializedMessage

logger = logging.getLogger("flask_signalr")

#: Encoded Ping per wire format: identical for every connection, so built once.
_PING_CHUNKS: dict[tuple[str, str], bytes] = {}


class Transport(Protocol):
    """The write side of a transport, as a connection sees it."""

    #: Transport name as negotiate spells it ("WebSockets", ...).
    name: str
    #: Whether binary protocols (MessagePack) can travel over it.
    supports_binary: bool

    def output_kind(self, transfer_format: TransferFormat) -> str:
        """A key naming the byte format :meth:`encode_record` produces (for shared caches)."""

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        """Wrap one framed record in whatever the transport writes (a WebSocket frame, ...)."""

    def send(self, chunk: bytes) -> bool:
        """Queue bytes for the peer without blocking; False if the outbound buffer overflowed."""

    def close(self) -> None:
        """Flush what is queued, then end the transport gracefully."""

    def abort(self) -> None:
        """End the transport now, dropping anything queued."""


class ConnectionState(enum.Enum):
    """Where a connection is in its life; every transition goes forward."""

    HANDSHAKE = "handshake"
    CONNECTED = "connected"
    CLOSED = "closed"


class HubConnection:
    """One client connection to one hub."""

    def __init__(
        self,
        connection_id: str,
        transport: Transport,
        scope: RequestScope,
        user_identifier: str | None,
        max_parallel_invocations: int,
        supports_pings: bool = True,
    ) -> None:
        self.connection_id = connection_id
        self.transport = transport
        self.scope = scope
        self.user = scope.user
        self.user_identifier = user_identifier
        self.items: dict[Any, Any] = {}
        #: Set when the connection ends, whatever the reason.
        self.aborted = _concurrency.Event()
        self.state = ConnectionState.HANDSHAKE
        #: Groups this connection belongs to (maintained by the lifetime manager).
        self.groups: set[str] = set()
        self.supports_pings = supports_pings
        #: Limits how many of this client's invocations run at once.
        self.invocation_slots = _concurrency.Semaphore(max_parallel_invocations)
        #: Calls waiting to run, and the workers running them.
        self.invocations = InvocationQueue(max_parallel_invocations)
        #: Received bytes not yet forming a whole record.
        self.input_buffer = b""
        #: True once the hub's on_connected succeeded (so on_disconnected is owed).
        self.hub_connected = False
        #: Server-to-client invocations waiting for the client's answer.
        self.client_results = ClientResults()
        #: Server-to-client streams in progress: invocation id -> producing greenlet.
        self.streams: dict[str, Any] = {}
        #: Client-to-server streams being received: stream id -> UploadStream.
        self.uploads: dict[str, Any] = {}
        self._protocol: HubProtocol | None = None
        self._transfer_format = TransferFormat.TEXT
        self.output_key: tuple[str, str] = ("", "")
        self._ping_chunk = b""
        now = time.monotonic()
        self.started_at = now
        self.last_sent = now
        self.last_received = now
        #: Why the server ended the connection (passed to on_disconnected), if it did.
        self.abort_reason: BaseException | None = None
        #: Set once close() or abort() was called: the transport is on its way out.
        self.closing = False
        #: The hub's broadcast coalescer, and how many of its pending broadcasts this
        #: connection already has (see server/batching.py).
        self.broadcaster: Broadcaster | None = None
        self.broadcasts_sent = 0

    @property
    def protocol(self) -> HubProtocol:
        if self._protocol is None:
            raise RuntimeError(
                f"Connection {self.connection_id} has no protocol yet; state is {self.state.value}."
            )
        return self._protocol

    @property
    def transfer_format(self) -> TransferFormat:
        return self._transfer_format

    def start_protocol(self, protocol: HubProtocol) -> None:
        """Adopt the protocol chosen in the handshake; from now on its encoding is used."""
        self._protocol = protocol
        self._transfer_format = protocol.transfer_format
        self.output_key = (protocol.name, self.transport.output_kind(protocol.transfer_format))
        ping = _PING_CHUNKS.get(self.output_key)
        if ping is None:
            ping = _PING_CHUNKS[self.output_key] = self.encode_record(protocol.write_message(PING))
        self._ping_chunk = ping

    def encode_record(self, record: bytes) -> bytes:
        return self.transport.encode_record(record, self._transfer_format)

    # -- sending ------------------------------------------------------------------------------

    def send_message(self, message: HubMessage) -> None:
        """Encode ``message`` for this connection and queue it.

        Encoding happens here, in the caller's greenlet, so a value that cannot be serialized
        raises to the code that tried to send it.
        """
        self.send_chunk(self.encode_record(self.protocol.write_message(message)))

    def send_serialized(self, message: SerializedMessage) -> None:
        """Queue a shared message, reusing its bytes when another connection encoded them."""
        if self.state is ConnectionState.CONNECTED:
            self.send_chunk(message.chunk_for(self))

    def send_raw_record(self, record: bytes) -> None:
        """Queue an already framed record (the handshake response)."""
        self.send_chunk(self.encode_record(record))

    def send_ping(self) -> None:
        self.send_chunk(self._ping_chunk)

    @property
    def is_connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED

    def send_chunk(self, chunk: bytes) -> None:
        """Queue bytes for the client, after any pending broadcast it has not had yet."""
        broadcaster = self.broadcaster
        if broadcaster is not None and broadcaster.pending is not None:
            broadcaster.catch_up(self)
        self.write_chunk(chunk)

    def write_chunk(self, chunk: bytes) -> None:
        """Queue bytes for the client now (callers keep the order of messages)."""
        if self.state is ConnectionState.CLOSED:
            return
        self.last_sent = time.monotonic()
        if not self.transport.send(chunk):
            logger.warning(
                "Connection %s did not read its messages fast enough (outbound buffer full); "
                "closing it.",
                self.connection_id,
            )
            self.abort(ConnectionAbortedError("The client did not read its messages in time."))

    # -- ending -------------------------------------------------------------------------------

    def close(self, message: CloseMessage | None = None) -> None:
        """End gracefully: send ``message`` (a Close) if given, flush, close the transport."""
        if self.state is ConnectionState.CLOSED or self.closing:
            return
        if message is not None and self._protocol is not None:
            self.send_message(message)
        self.closing = True
        self.transport.close()

    def abort(self, reason: BaseException | None = None) -> None:
        """End now; ``reason`` (if any) becomes the exception ``on_disconnected`` receives."""
        if self.abort_reason is None:
            self.abort_reason = reason
        self.closing = True
        self.transport.abort()

    def mark_closed(self) -> bool:
        """Record that the transport ended; False if it was already recorded."""
        if self.state is ConnectionState.CLOSED:
            return False
        self.state = ConnectionState.CLOSED
        self.aborted.set()
        return True
