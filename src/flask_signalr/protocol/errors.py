"""Errors raised by the sans-IO protocol layer when the peer sends something it must not.

These never describe a bug of ours: the connection layer turns them into a Close message (or a
handshake error) for that one connection.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid hub protocol message."""


class MessageTooLargeError(ProtocolError):
    """A single record exceeded the configured maximum receive size."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The maximum message size of {limit}B was exceeded. "
            "The message size can be configured with maximum_receive_message_size."
        )
        self.limit = limit


class HandshakeError(ProtocolError):
    """The handshake request was malformed or asked for something we do not offer.

    Its text is what the client is told, in the handshake response's ``error`` field.
    """
