"""A message encoded at most once per wire format, however many connections receive it.

Broadcasts build one :class:`SerializedMessage` and hand it to every recipient; the first
recipient speaking a given protocol over a given transport pays for the encoding and the rest
reuse the bytes (for WebSockets, the whole frame), which is what keeps fan-out cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_signalr.protocol.messages import HubMessage

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.protocol.base import HubProtocol
    from flask_signalr.server.connection import HubConnection


class SerializedMessage:
    """One hub message plus its encodings, keyed by protocol and by transport output format."""

    __slots__ = ("_chunks", "_records", "message")

    def __init__(self, message: HubMessage | None, records: dict[str, bytes] | None = None) -> None:
        """``message`` may be None when ``records`` already hold every encoding needed (a
        message that arrived through the backplane)."""
        self.message = message
        #: protocol name -> framed record
        self._records: dict[str, bytes] = records if records is not None else {}
        #: (protocol name, transport output kind) -> bytes ready for the transport
        self._chunks: dict[tuple[str, str], bytes] = {}

    def record_for(self, protocol: HubProtocol) -> bytes:
        """The framed record for ``protocol``, encoded on first use."""
        record = self._records.get(protocol.name)
        if record is None:
            if self.message is None:
                raise LookupError(
                    f"A backplane message carries no '{protocol.name}' encoding; every server "
                    "of a hub must enable the same protocols."
                )
            record = protocol.write_message(self.message)
            self._records[protocol.name] = record
        return record

    def chunk_for(self, connection: HubConnection) -> bytes:
        """The bytes ``connection``'s transport writes, encoded on first use."""
        key = connection.output_key
        chunk = self._chunks.get(key)
        if chunk is None:
            chunk = connection.encode_record(self.record_for(connection.protocol))
            self._chunks[key] = chunk
        return chunk
