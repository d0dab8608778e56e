"""How Python values that JSON has no type for are written, shared by every codec.

The rule (documented in the README): datetimes, dates and times become ISO-8601 strings, UUIDs
and enums their string or value, sets and tuples lists, dataclasses objects. ``bytes`` become
base64 text in JSON (MessagePack keeps them binary). NaN and infinities are refused with a
:class:`ValueError` because JavaScript's ``JSON.parse`` rejects them.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import uuid
from typing import Any


def to_plain(value: Any) -> Any:
    """Convert a value the encoder does not know natively; raise TypeError if impossible."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            # Naive datetimes are read as UTC, as the MessagePack codec does, so both protocols
            # agree; JavaScript would otherwise read an offset-less string as local time.
            return value.isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(
        f"Object of type {type(value).__name__} cannot be sent to SignalR clients; "
        "send str, int, float, bool, None, list, dict, bytes, datetime, UUID, Enum or a dataclass."
    )
