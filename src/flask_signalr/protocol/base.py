"""The interface every hub protocol codec implements.

A codec is a named, stateless object: it frames and unframes records and converts between a
record and a :mod:`~flask_signalr.protocol.messages` object. Connections pick one by the name the
client asks for in the handshake, so JSON and MessagePack clients share hubs and groups.
"""

from __future__ import annotations

import abc
import enum

from flask_signalr.protocol.messages import HubMessage


class TransferFormat(enum.Enum):
    """What a transport must be able to carry for a protocol: text or arbitrary bytes."""

    TEXT = "Text"
    BINARY = "Binary"


class HubProtocol(abc.ABC):
    """A hub protocol codec (``json``, ``messagepack``)."""

    #: Name used in the handshake request.
    name: str
    #: Highest protocol version this codec understands.
    version: int
    #: Transfer format the transport must support.
    transfer_format: TransferFormat

    def is_version_supported(self, version: int) -> bool:
        """Whether a client asking for ``version`` can be served (ASP.NET accepts up to 2)."""
        return 0 <= version <= self.version

    @abc.abstractmethod
    def split_records(self, buffer: bytes, max_record_size: int) -> tuple[list[bytes], bytes]:
        """Split complete records off ``buffer``; return them and the unconsumed tail."""

    @abc.abstractmethod
    def parse_record(self, record: bytes) -> HubMessage | None:
        """Decode one record; ``None`` for a message type this codec ignores.

        Raises :class:`~flask_signalr.protocol.errors.ProtocolError` for malformed input.
        """

    @abc.abstractmethod
    def write_message(self, message: HubMessage) -> bytes:
        """Encode ``message`` as one framed record.

        Raises :class:`TypeError` or :class:`ValueError` for payload values the format cannot
        represent, so the caller (not the recipient) learns about its mistake.
        """

    def parse_messages(self, buffer: bytes, max_record_size: int) -> tuple[list[HubMessage], bytes]:
        """Decode every complete record in ``buffer``; return the messages and the tail."""
        records, tail = self.split_records(buffer, max_record_size)
        messages = []
        for record in records:
            message = self.parse_record(record)
            if message is not None:
                messages.append(message)
        return messages, tail
