"""The server's WebSocket frame reader, against frames built by an independent client."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from flask_signalr.transports.frames import (
    Close,
    FrameError,
    FrameEvent,
    FrameReader,
    Ping,
    encode_close,
    encode_frame,
)


def client_frame(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    """A masked frame as a real client sends it (the websockets library builds it)."""
    return Frame(opcode, payload, fin=fin).serialize(mask=True, extensions=[])


def raw_frame(first: int, payload: bytes, masked: bool = True) -> bytes:
    mask = os.urandom(4) if masked else b""
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if masked else payload
    return bytes([first, (0x80 if masked else 0) | len(payload)]) + mask + body


def feed_all(data: bytes, max_size: int | None = None) -> list[FrameEvent]:
    return FrameReader(max_size).feed(data)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_payload_lengths(size: int) -> None:
    payload = os.urandom(size)
    events = feed_all(client_frame(Opcode.BINARY, payload))
    assert events == ([payload] if size else [])


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5), st.data())
def test_any_split_of_the_stream_gives_the_same_events(
    payloads: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(client_frame(Opcode.TEXT, p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = FrameReader(None)
    events: list[FrameEvent] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        events += reader.feed(stream[start:end])
    assert events == payloads


def test_fragmented_message_with_a_ping_in_between() -> None:
    stream = (
        client_frame(Opcode.TEXT, b"he", fin=False)
        + client_frame(Opcode.PING, b"p")
        + client_frame(Opcode.CONT, b"llo", fin=False)
        + client_frame(Opcode.CONT, b"!", fin=True)
        + client_frame(Opcode.PONG, b"ignored")
    )
    assert feed_all(stream) == [b"he", Ping(b"p"), b"llo", b"!"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", Close(1005, "")),
        (struct.pack("!H", 1000), Close(1000, "")),
        (struct.pack("!H", 4001) + "bye é".encode(), Close(4001, "bye é")),
    ],
)
def test_close_frames(payload: bytes, expected: Close) -> None:
    after = client_frame(Opcode.TEXT, b"after the close")
    assert feed_all(client_frame(Opcode.CLOSE, payload) + after) == [expected]


@pytest.mark.parametrize(
    ("stream", "code", "reason"),
    [
        (raw_frame(0x81, b"x", masked=False), 1002, "must be masked"),
        (raw_frame(0xC1, b"x"), 1002, "Reserved bits"),
        (raw_frame(0x83, b"x"), 1002, "Unknown opcode"),
        (raw_frame(0x80, b"x"), 1002, "Unexpected continuation"),
        (raw_frame(0x01, b"a") + raw_frame(0x81, b"b"), 1002, "Expected a continuation"),
        (raw_frame(0x09, b"p"), 1002, "Control frames"),
        (raw_frame(0x88, b"\x03"), 1002, "2-byte code"),
        (raw_frame(0x88, b"\x03\xe8\xff"), 1002, "not UTF-8"),
    ],
)
def test_protocol_violations(stream: bytes, code: int, reason: str) -> None:
    with pytest.raises(FrameError, match=reason) as error:
        feed_all(stream)
    assert error.value.code == code


def test_a_long_control_frame_is_refused_from_its_header() -> None:
    header = bytes([0x89, 0x80 | 126]) + struct.pack("!H", 126)
    with pytest.raises(FrameError, match="Control frames"):
        FrameReader(None).feed(header)


def test_message_size_limit_counts_fragments_and_needs_no_payload() -> None:
    reader = FrameReader(10)
    assert reader.feed(client_frame(Opcode.TEXT, b"123456", fin=False)) == [b"123456"]
    with pytest.raises(FrameError) as error:
        reader.feed(client_frame(Opcode.CONT, b"7890a"))
    assert error.value.code == 1009
    header_only = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 2**40)
    with pytest.raises(FrameError, match="limited to 10 bytes"):
        FrameReader(10).feed(header_only)  # refused before any of the payload arrives


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (5, b"\x82\x05"),
        (300, b"\x82\x7e\x01\x2c"),
        (70_000, b"\x82\x7f" + struct.pack("!Q", 70_000)),
    ],
)
def test_server_frames_are_final_unmasked_and_sized(size: int, header: bytes) -> None:
    assert encode_frame(b"x" * size, 0x2) == header + b"x" * size


def test_close_frames_we_send() -> None:
    assert encode_close(1000) == b"\x88\x02\x03\xe8"
    assert encode_close(1005) == b"\x88\x00"  # "no status" has no payload
