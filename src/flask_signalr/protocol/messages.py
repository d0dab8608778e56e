"""The SignalR hub message model: one frozen dataclass per message type.

Codecs turn bytes into these objects and back; everything above the codecs (dispatch, lifetime
managers, clients) speaks only in these types, so a new wire format never touches hub code.
Numbering follows the SignalR hub protocol specification.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class MessageType(enum.IntEnum):
    """Numeric ``type`` field of every hub message, as the specification numbers them."""

    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


Headers = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class InvocationMessage:
    """Call ``target`` on the peer; without an ``invocation_id`` no answer is expected."""

    target: str
    arguments: Sequence[Any]
    invocation_id: str | None = None
    stream_ids: Sequence[str] = ()
    headers: Headers | None = None


@dataclass(frozen=True, slots=True)
class StreamInvocationMessage:
    """Call a streaming ``target``: the answer is StreamItems followed by a Completion."""

    invocation_id: str
    target: str
    arguments: Sequence[Any]
    stream_ids: Sequence[str] = ()
    headers: Headers | None = None


@dataclass(frozen=True, slots=True)
class StreamItemMessage:
    """One item of a stream, in either direction."""

    invocation_id: str
    item: Any
    headers: Headers | None = None


@dataclass(frozen=True, slots=True)
class CompletionMessage:
    """End of an invocation or stream.

    ``error`` set means failure. Otherwise ``has_result`` tells a value (``None`` included) apart
    from a completion without one, which is how a stream ends.
    """

    invocation_id: str
    result: Any = None
    error: str | None = None
    has_result: bool = False
    headers: Headers | None = None

    @classmethod
    def with_result(cls, invocation_id: str, result: Any) -> CompletionMessage:
        return cls(invocation_id, result=result, has_result=True)

    @classmethod
    def with_error(cls, invocation_id: str, error: str) -> CompletionMessage:
        return cls(invocation_id, error=error)


@dataclass(frozen=True, slots=True)
class CancelInvocationMessage:
    """The client no longer wants the items of a stream it started."""

    invocation_id: str
    headers: Headers | None = None


@dataclass(frozen=True, slots=True)
class PingMessage:
    """Keep-alive; carries nothing."""


@dataclass(frozen=True, slots=True)
class CloseMessage:
    """The sender is closing the connection, optionally with an error and leave to reconnect."""

    error: str | None = None
    allow_reconnect: bool = False


@dataclass(frozen=True, slots=True)
class AckMessage:
    """Stateful reconnect: every trackable message up to ``sequence_id`` was processed."""

    sequence_id: int


@dataclass(frozen=True, slots=True)
class SequenceMessage:
    """Stateful reconnect: the id of the first message the sender is about to replay."""

    sequence_id: int


HubMessage = (
    InvocationMessage
    | StreamInvocationMessage
    | StreamItemMessage
    | CompletionMessage
    | CancelInvocationMessage
    | PingMessage
    | CloseMessage
    | AckMessage
    | SequenceMessage
)

PING = PingMessage()
