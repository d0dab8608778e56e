"""VarInt length-prefixed framing of MessagePack records (PROTOCOL.md §5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_signalr.protocol.errors import MessageTooLargeError, ProtocolError
from flask_signalr.protocol.framing import (
    split_binary_records,
    write_binary_record,
    write_varint,
)

MAX_LENGTH = 0x7FFFFFFF


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (1, "01"),
        (0x35, "35"),  # spec example: 53
        (0x7F, "7f"),
        (0x80, "80 01"),
        (5248, "80 29"),  # spec example
        (0x3FFF, "ff 7f"),
        (0x4000, "80 80 01"),
        (MAX_LENGTH, "ff ff ff ff 07"),  # the largest length SignalR allows
    ],
)
def test_write_varint(value: int, encoded: str) -> None:
    assert write_varint(value) == bytes.fromhex(encoded)


@pytest.mark.parametrize(
    ("prefix", "length"),
    [
        ("35", 0x35),
        ("80 29", 5248),
        ("ff 7f", 0x3FFF),
        ("ff ff ff ff 07", MAX_LENGTH),
        ("80 00", 0),  # not minimal, still valid
    ],
)
def test_split_reads_exactly_the_prefixed_length(prefix: str, length: int) -> None:
    # Without the body the record is incomplete; the size limit pins the decoded length.
    header = bytes.fromhex(prefix)
    assert split_binary_records(header, length) == ([], b"" if length == 0 else header)
    if length > 1:  # a limit of 0 means "no limit"
        with pytest.raises(MessageTooLargeError):
            split_binary_records(header, length - 1)


@given(st.integers(min_value=0, max_value=MAX_LENGTH))
def test_varint_round_trip(length: int) -> None:
    header = write_varint(length)
    assert 1 <= len(header) <= 5
    assert all(byte & 0x80 for byte in header[:-1]) and not header[-1] & 0x80
    if length:
        assert split_binary_records(header, length) == ([], header)
    if length > 1:  # a limit of 0 means "no limit"
        with pytest.raises(MessageTooLargeError):
            split_binary_records(header, length - 1)


def test_write_binary_record_prefixes_length() -> None:
    assert write_binary_record(b"\x91\x06") == b"\x02\x91\x06"
    payload = bytes(range(256)) * 2
    assert write_binary_record(payload) == b"\x80\x04" + payload


def test_split_single_record() -> None:
    assert split_binary_records(b"\x02\x91\x06", 0) == ([b"\x91\x06"], b"")


def test_split_several_records_in_one_buffer() -> None:
    buffer = b"\x02\x91\x06\x01\xc0\x03abc"
    assert split_binary_records(buffer, 0) == ([b"\x91\x06", b"\xc0", b"abc"], b"")


def test_split_keeps_incomplete_body_as_tail() -> None:
    buffer = b"\x02\x91\x06\x05abc"
    assert split_binary_records(buffer, 0) == ([b"\x91\x06"], b"\x05abc")


def test_split_keeps_incomplete_length_prefix_as_tail() -> None:
    buffer = b"\x02\x91\x06\x80"
    assert split_binary_records(buffer, 0) == ([b"\x91\x06"], b"\x80")


def test_split_empty_buffer() -> None:
    assert split_binary_records(b"", 10) == ([], b"")


def test_split_skips_zero_length_records() -> None:
    assert split_binary_records(b"\x00\x01a\x00\x00\x01b\x00", 0) == ([b"a", b"b"], b"")


def test_split_allows_record_of_exactly_the_maximum_size() -> None:
    payload = b"x" * 300
    assert split_binary_records(write_binary_record(payload), 300) == ([payload], b"")


def test_split_refuses_oversized_record_before_its_body_arrives() -> None:
    with pytest.raises(MessageTooLargeError) as info:
        split_binary_records(b"\x02\x91\x06" + write_varint(32769), 32768)
    assert info.value.limit == 32768
    assert "32768B" in str(info.value)


def test_zero_maximum_disables_the_size_check() -> None:
    payload = b"x" * 40000
    assert split_binary_records(write_binary_record(payload), 0) == ([payload], b"")


@pytest.mark.parametrize(
    "buffer",
    [
        "80 80 80 80 80 00",  # six bytes
        "ff ff ff ff ff 01",
        "80 80 80 80 80",  # fifth byte still asks for more: known bad before a sixth arrives
        "ff ff ff ff 08",  # 5th byte > 7: 2**31, beyond 2 GB
        "ff ff ff ff 0f",
        "02 91 06 ff ff ff ff 7f",  # after a valid record
    ],
)
def test_split_refuses_lengths_beyond_two_gigabytes(buffer: str) -> None:
    with pytest.raises(ProtocolError, match="bigger than 2GB"):
        split_binary_records(bytes.fromhex(buffer), 0)


def test_split_accepts_an_incomplete_four_byte_prefix() -> None:
    assert split_binary_records(b"\xff\xff\xff\xff", 0) == ([], b"\xff\xff\xff\xff")


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=1, max_value=64), max_size=30),
)
def test_incremental_split_matches_whole_buffer(
    payloads: list[bytes], chunk_sizes: list[int]
) -> None:
    """Records come out whole and in order however the stream is chopped up."""
    stream = b"".join(write_binary_record(payload) for payload in payloads)
    received: list[bytes] = []
    pending = b""
    position = 0
    for size in [*chunk_sizes, len(stream)]:
        pending += stream[position : position + size]
        position += size
        records, pending = split_binary_records(pending, 300)
        received.extend(records)
    assert pending == b""
    assert received == [payload for payload in payloads if payload]
