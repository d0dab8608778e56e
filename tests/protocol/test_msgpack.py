"""The ``messagepack`` hub protocol codec (PROTOCOL.md §5 and §8)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import decimal
import enum
import math
import uuid
from typing import Any

import msgpack  # type: ignore[import-untyped, unused-ignore]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_signalr.protocol import msgpack as codec_module
from flask_signalr.protocol.base import TransferFormat
from flask_signalr.protocol.errors import MessageTooLargeError, ProtocolError
from flask_signalr.protocol.messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from flask_signalr.protocol.msgpack import MessagePackHubProtocol

protocol = MessagePackHubProtocol()
UTC = datetime.UTC


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def body(message: HubMessage) -> bytes:
    """The written record without its length prefix (asserting the prefix is right)."""
    record = protocol.write_message(message)
    records, tail = protocol.split_records(record, 0)
    assert tail == b""
    assert len(records) == 1
    return records[0]


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def write_value(value: Any) -> bytes:
    """The bytes a value becomes as a StreamItem's item."""
    prefix = h("94 02 80 a1 31")
    payload = body(StreamItemMessage("1", value))
    assert payload.startswith(prefix)
    return payload[len(prefix) :]


def read_value(encoded: bytes) -> Any:
    message = protocol.parse_record(h("94 02 80 a1 31") + encoded)
    assert isinstance(message, StreamItemMessage)
    return message.item


def test_protocol_identity() -> None:
    assert protocol.name == "messagepack"
    assert protocol.version == 2
    assert protocol.transfer_format is TransferFormat.BINARY
    assert protocol.is_version_supported(1)
    assert protocol.is_version_supported(2)
    assert not protocol.is_version_supported(3)


# --- Spec byte examples (HubProtocol.md via PROTOCOL.md §8) -----------------------------------

INVOCATION = "96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90"
NON_BLOCKING = "96 01 80 c0 a6 6d 65 74 68 6f 64 91 2a 90"
HEADERS_XY_ZZ = "82 a1 78 a1 79 a1 7a a1 7a"

# (spec bytes, message): written byte for byte like this, and parsed back.
SPEC_EXAMPLES: list[tuple[str, HubMessage]] = [
    (INVOCATION, InvocationMessage("method", [42], "xyz")),
    (NON_BLOCKING, InvocationMessage("method", [42])),
    (
        f"96 01 {HEADERS_XY_ZZ} a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90",
        InvocationMessage("method", [42], "xyz", headers={"x": "y", "z": "z"}),
    ),
    (
        "96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 91 a1 31",
        InvocationMessage("method", [42], "xyz", stream_ids=("1",)),
    ),
    (
        "96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90",
        StreamInvocationMessage("xyz", "method", [42]),
    ),
    ("94 02 80 a3 78 79 7a 2a", StreamItemMessage("xyz", 42)),
    ("94 03 80 a3 78 79 7a 02", CompletionMessage("xyz")),
    ("95 03 80 a3 78 79 7a 03 2a", CompletionMessage.with_result("xyz", 42)),
    ("95 03 80 a3 78 79 7a 03 c0", CompletionMessage.with_result("xyz", None)),
    ("95 03 80 a3 78 79 7a 01 a5 45 72 72 6f 72", CompletionMessage.with_error("xyz", "Error")),
    ("93 05 80 a3 78 79 7a", CancelInvocationMessage("xyz")),
    ("91 06", PingMessage()),
    ("93 07 a3 78 79 7a c3", CloseMessage("xyz", allow_reconnect=True)),
    ("93 07 c0 c2", CloseMessage()),
]


@pytest.mark.parametrize(("encoded", "message"), SPEC_EXAMPLES)
def test_writes_spec_bytes(encoded: str, message: HubMessage) -> None:
    assert body(message) == h(encoded)


@pytest.mark.parametrize(("encoded", "message"), SPEC_EXAMPLES)
def test_parses_spec_bytes(encoded: str, message: HubMessage) -> None:
    assert protocol.parse_record(h(encoded)) == message


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("92 07 a3 78 79 7a", CloseMessage("xyz")),  # two-element Close
        ("93 07 a3 78 79 7a c3", CloseMessage("xyz", allow_reconnect=True)),
        ("92 07 c0", CloseMessage()),  # what the JavaScript client sends
        ("93 07 c0 c0", CloseMessage()),
        ("92 08 cc 24", AckMessage(36)),  # uint8 although 36 fits a fixint
        ("92 09 cc 13", SequenceMessage(19)),
        ("92 08 ce 00 01 00 00", AckMessage(65536)),
        ("92 09 cf 00 00 00 01 00 00 00 00", SequenceMessage(2**32)),
    ],
)
def test_parses_other_spec_forms(encoded: str, message: HubMessage) -> None:
    assert protocol.parse_record(h(encoded)) == message


def test_close_is_always_written_with_three_elements() -> None:
    assert body(CloseMessage("xyz")) == h("93 07 a3 78 79 7a c2")
    assert body(CloseMessage(allow_reconnect=True)) == h("93 07 c0 c3")


def test_ack_and_sequence_written_compactly() -> None:
    assert body(AckMessage(36)) == h("92 08 24")
    assert body(SequenceMessage(19)) == h("92 09 13")
    assert body(SequenceMessage(300)) == h("92 09 cd 01 2c")


def test_ping_is_exactly_a_one_element_array() -> None:
    assert protocol.write_message(PING) == h("02 91 06")
    assert protocol.write_message(PingMessage()) == h("02 91 06")


def test_javascript_five_element_invocation() -> None:
    # [1, {}, "0", "Echo", [7]]: the JS client leaves StreamIds out when there are none.
    encoded = h("95 01 80 a1 30 a4 45 63 68 6f 91 07")
    assert encoded == pack([1, {}, "0", "Echo", [7]])
    assert protocol.parse_record(encoded) == InvocationMessage("Echo", [7], "0")


def test_five_element_stream_invocation() -> None:
    encoded = pack([4, {}, "1", "Count", [2]])
    assert protocol.parse_record(encoded) == StreamInvocationMessage("1", "Count", [2])


def test_empty_string_invocation_id_means_non_blocking() -> None:
    assert protocol.parse_record(pack([1, {}, "", "Fire", [5], []])) == InvocationMessage(
        "Fire", [5]
    )
    assert body(InvocationMessage("method", [42], "")) == h(NON_BLOCKING)


def test_headers_written_as_empty_map_when_absent() -> None:
    for message in (
        InvocationMessage("t", []),
        StreamItemMessage("1", None),
        CompletionMessage("1"),
        CancelInvocationMessage("1"),
    ):
        assert body(message)[2] == 0x80


def test_empty_or_nil_headers_parse_as_none() -> None:
    assert protocol.parse_record(pack([5, {}, "1"])) == CancelInvocationMessage("1")
    assert protocol.parse_record(pack([5, None, "1"])) == CancelInvocationMessage("1")


def test_completion_error_wins_over_result() -> None:
    message = CompletionMessage("1", result=5, error="boom", has_result=True)
    assert msgpack.unpackb(body(message)) == [3, {}, "1", 1, "boom"]


def test_extra_trailing_elements_are_ignored() -> None:
    assert protocol.parse_record(pack([1, {}, "0", "Echo", [7], [], "future"])) == (
        InvocationMessage("Echo", [7], "0")
    )
    assert protocol.parse_record(pack([6, {}])) == PingMessage()
    assert protocol.parse_record(pack([8, 3, "x"])) == AckMessage(3)


@pytest.mark.parametrize(
    "encoded",
    [pack([10]), pack([0, {}]), pack([99, "anything"]), pack([-1]), pack([2**40, 1])],
)
def test_unknown_message_types_are_ignored(encoded: bytes) -> None:
    assert protocol.parse_record(encoded) is None


# --- Round trips -----------------------------------------------------------------------------

HEADERS = {"Authorization": "Bearer x", "trace": "1"}
ROUND_TRIP: list[HubMessage] = [
    InvocationMessage("Send", ["hi", 1, 2.5, True, None, [1, [2]], {"a": {"b": []}}], "7"),
    InvocationMessage("Send", [], None, ("1", "2"), HEADERS),
    InvocationMessage("Send", [b"\x00\xff"]),
    StreamInvocationMessage("1", "Count", [10], ("2",), HEADERS),
    StreamItemMessage("1", {"nested": [1, "x", None]}),
    StreamItemMessage("1", None, HEADERS),
    CompletionMessage("1"),
    CompletionMessage("1", headers=HEADERS),
    CompletionMessage.with_result("1", None),
    CompletionMessage.with_result("1", [1, 2, 3]),
    CompletionMessage.with_error("1", "Failed to invoke 'X' due to an error on the server."),
    CancelInvocationMessage("1"),
    CancelInvocationMessage("1", HEADERS),
    PingMessage(),
    CloseMessage(),
    CloseMessage("Connection closed with an error.", allow_reconnect=True),
    CloseMessage(allow_reconnect=True),
    AckMessage(0),
    AckMessage(2**63),
    SequenceMessage(1),
]


@pytest.mark.parametrize("message", ROUND_TRIP, ids=lambda m: type(m).__name__)
def test_round_trip(message: HubMessage) -> None:
    record = protocol.write_message(message)
    messages, tail = protocol.parse_messages(record, 0)
    assert tail == b""
    assert messages == [message]


@pytest.mark.parametrize("message", ROUND_TRIP, ids=lambda m: type(m).__name__)
def test_type_is_a_positive_fixint_first_element(message: HubMessage) -> None:
    encoded = body(message)
    assert 0x91 <= encoded[0] <= 0x96  # fixarray of 1-6 elements
    assert encoded[1] == msgpack.unpackb(encoded)[0]  # positive fixint: the byte is the value


def test_invocation_always_written_with_six_elements() -> None:
    assert msgpack.unpackb(body(InvocationMessage("t", [1]))) == [1, {}, None, "t", [1], []]
    assert msgpack.unpackb(body(StreamInvocationMessage("1", "t", []))) == [
        4,
        {},
        "1",
        "t",
        [],
        [],
    ]


def test_tuple_arguments_are_written_as_arrays() -> None:
    assert body(InvocationMessage("method", (42,), "xyz")) == h(INVOCATION)


def test_non_dict_headers_mapping_is_written() -> None:
    import types

    message = InvocationMessage("t", [], headers=types.MappingProxyType({"x": "y"}))
    parsed = protocol.parse_record(body(message))
    assert isinstance(parsed, InvocationMessage)
    assert parsed.headers == {"x": "y"}


def test_writing_a_non_message_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        protocol.write_message("not a message")  # type: ignore[arg-type]


# --- Buffers with several or partial records -----------------------------------------------------


def test_parse_messages_handles_several_records_in_one_buffer() -> None:
    buffer = b"".join(protocol.write_message(m) for m in ROUND_TRIP)
    messages, tail = protocol.parse_messages(buffer, 32768)
    assert messages == ROUND_TRIP
    assert tail == b""


def test_parse_messages_keeps_a_partial_record() -> None:
    first = protocol.write_message(InvocationMessage("Echo", [7], "0"))
    second = protocol.write_message(CompletionMessage.with_result("s1", 42))
    buffer = first + second
    for cut in range(len(first), len(buffer)):
        messages, tail = protocol.parse_messages(buffer[:cut], 32768)
        assert messages == [InvocationMessage("Echo", [7], "0")]
        assert tail == buffer[len(first) : cut]
        rest, tail = protocol.parse_messages(tail + buffer[cut:], 32768)
        assert rest == [CompletionMessage.with_result("s1", 42)]
        assert tail == b""


def test_parse_messages_fed_byte_by_byte() -> None:
    stream = b"".join(protocol.write_message(m) for m in ROUND_TRIP)
    received: list[HubMessage] = []
    pending = b""
    for index in range(len(stream)):
        messages, pending = protocol.parse_messages(pending + stream[index : index + 1], 32768)
        received.extend(messages)
    assert pending == b""
    assert received == ROUND_TRIP


def test_parse_messages_skips_unknown_types_and_empty_records() -> None:
    buffer = b"\x00" + h("02 91 0a") + h("02 91 06") + b"\x00"
    assert protocol.parse_messages(buffer, 0) == ([PingMessage()], b"")


def test_parse_messages_refuses_oversized_records() -> None:
    big = protocol.write_message(StreamItemMessage("1", "x" * 40000))
    with pytest.raises(MessageTooLargeError):
        protocol.parse_messages(big, 32768)
    with pytest.raises(MessageTooLargeError):  # known from the prefix alone
        protocol.parse_messages(big[:3], 32768)
    assert protocol.parse_messages(big, 0)[0] == [StreamItemMessage("1", "x" * 40000)]


def test_large_record_gets_multi_byte_prefix() -> None:
    record = protocol.write_message(StreamItemMessage("1", "x" * 200))
    length = len(record) - 2
    assert record[:2] == bytes([(length & 0x7F) | 0x80, length >> 7])


# --- Malformed input ----------------------------------------------------------------------------

MALFORMED = {
    "empty record": b"",
    "not an array (int)": pack(6),
    "not an array (map)": pack({"type": 1}),
    "not an array (str)": pack("hello"),
    "not an array (nil)": pack(None),
    "empty array": pack([]),
    "type is a string": pack(["1", {}, "0", "Echo", []]),
    "type is nil": pack([None]),
    "type is a bool": pack([True, {}, "0", "Echo", []]),
    "type is a float": pack([1.0, {}, "0", "Echo", []]),
    "invalid format byte": h("c1"),
    "truncated array": h("96 01 80"),
    "truncated string": h("93 05 80 a3 78"),
    "trailing garbage": h("91 06 00"),
    "two values": h("91 06 91 06"),
    "invalid utf-8": h("93 05 80 a2 ff fe"),
    "huge declared array": h("dd ff ff ff ff"),
    "deeply nested": b"\x91" * 5000 + b"\x06",
    "bad timestamp length": h("94 02 80 a1 31 c7 03 ff 00 00 00"),
    "bad timestamp nanoseconds": h("94 02 80 a1 31 d7 ff ff ff ff ff ff ff ff ff"),
    "timestamp beyond year 9999": pack([2, {}, "1", msgpack.Timestamp(2**40)]),
    "float map key": pack([2, {}, "1", {1.5: "x"}]),
    "nil map key": pack([2, {}, "1", {None: "x"}]),
    "bool map key": pack([2, {}, "1", {True: "x"}]),
    "bytes map key": pack([2, {}, "1", {b"k": "x"}]),
    "array map key": h("94 02 80 a1 31 81 91 01 02"),
    "map map key": h("94 02 80 a1 31 81 80 02"),
    "invocation too short": pack([1, {}, "0", "Echo"]),
    "invocation target not str": pack([1, {}, "0", 5, []]),
    "invocation target nil": pack([1, {}, "0", None, []]),
    "invocation id not str": pack([1, {}, 7, "Echo", []]),
    "invocation arguments not array": pack([1, {}, "0", "Echo", {"a": 1}]),
    "invocation arguments nil": pack([1, {}, "0", "Echo", None]),
    "stream ids not array": pack([1, {}, "0", "Echo", [], "1"]),
    "stream ids not strings": pack([1, {}, "0", "Echo", [], [1]]),
    "headers not a map": pack([1, [], "0", "Echo", []]),
    "headers string": pack([1, "h", "0", "Echo", []]),
    "headers value not str": pack([1, {"a": 1}, "0", "Echo", []]),
    "headers key not str": pack([1, {1: "a"}, "0", "Echo", []]),
    "stream invocation too short": pack([4, {}, "1", "Count"]),
    "stream invocation id nil": pack([4, {}, None, "Count", []]),
    "stream item too short": pack([2, {}, "1"]),
    "stream item id not str": pack([2, {}, 1, "x"]),
    "completion too short": pack([3, {}, "1"]),
    "completion id nil": pack([3, {}, None, 2]),
    "completion unknown kind": pack([3, {}, "1", 4, "x"]),
    "completion kind zero": pack([3, {}, "1", 0]),
    "completion kind string": pack([3, {}, "1", "3", 1]),
    "completion kind bool": pack([3, {}, "1", True, "x"]),
    "completion value without value": pack([3, {}, "1", 3]),
    "completion error without error": pack([3, {}, "1", 1]),
    "completion error not str": pack([3, {}, "1", 1, None]),
    "cancel too short": pack([5, {}]),
    "cancel id not str": pack([5, {}, 1]),
    "close too short": pack([7]),
    "close error not str": pack([7, 5]),
    "close allow reconnect not bool": pack([7, None, 1]),
    "ack too short": pack([8]),
    "ack not int": pack([8, "1"]),
    "ack negative": pack([8, -1]),
    "ack bool": pack([8, True]),
    "sequence float": pack([9, 1.0]),
}


@pytest.mark.parametrize("encoded", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_input_raises_protocol_error(encoded: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.parse_record(encoded)
    assert type(info.value) is ProtocolError
    assert str(info.value)  # a message the Close error / log can carry


def test_malformed_record_inside_a_buffer() -> None:
    buffer = protocol.write_message(PING) + b"\x01\xc1"
    with pytest.raises(ProtocolError):
        protocol.parse_messages(buffer, 0)


@given(st.binary(max_size=64))
def test_arbitrary_bytes_only_ever_raise_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        protocol.parse_record(data)


int64s = st.integers(min_value=-(2**63), max_value=2**64 - 1)
msgpack_values = st.recursive(
    st.none() | st.booleans() | int64s | st.floats() | st.text(max_size=5) | st.binary(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=3) | int64s, children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.integers(min_value=-2, max_value=11),
    st.lists(msgpack_values, max_size=7),
)
def test_arbitrary_arrays_only_ever_raise_protocol_error(kind: int, rest: list[Any]) -> None:
    with contextlib.suppress(ProtocolError):
        protocol.parse_record(pack([kind, *rest]))


# --- Value mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [b"\x00\x01\xff", bytearray(b"\x00\x01\xff"), memoryview(b"\x00\x01\xff")]
)
def test_bytes_like_values_are_binary(value: Any) -> None:
    assert write_value(value) == h("c4 03 00 01 ff")
    assert read_value(h("c4 03 00 01 ff")) == b"\x00\x01\xff"


def test_bytes_subclass_is_binary() -> None:
    class Blob(bytes):
        pass

    assert write_value(Blob(b"ab")) == h("c4 02 61 62")


def test_strings_stay_strings() -> None:
    assert write_value("é") == h("a2 c3 a9")
    assert read_value(h("a2 c3 a9")) == "é"


def test_aware_datetime_is_a_timestamp() -> None:
    value = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    assert write_value(value) == h("d6 ff 65 92 00 80")  # timestamp32
    assert read_value(h("d6 ff 65 92 00 80")) == value


def test_datetime_with_offset_keeps_the_instant() -> None:
    value = datetime.datetime(2024, 1, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    parsed = read_value(write_value(value))
    assert parsed == value
    assert parsed.utcoffset() == datetime.timedelta(0)


def test_naive_datetime_is_taken_as_utc() -> None:
    naive = datetime.datetime(2024, 1, 1, 12, 30, 15, 250)
    assert write_value(naive) == write_value(naive.replace(tzinfo=UTC))
    assert read_value(write_value(naive)) == naive.replace(tzinfo=UTC)


def test_datetime_subclass_is_a_timestamp() -> None:
    class Moment(datetime.datetime):
        pass

    aware = Moment(2024, 1, 1, tzinfo=UTC)
    assert write_value(aware) == h("d6 ff 65 92 00 80")
    assert write_value(Moment(2024, 1, 1)) == h("d6 ff 65 92 00 80")


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
        datetime.datetime(1, 1, 1, tzinfo=UTC),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # timestamp96
        datetime.datetime(2038, 1, 19, 3, 14, 8, 1, tzinfo=UTC),  # timestamp64
    ],
)
def test_datetime_round_trip_edges(value: datetime.datetime) -> None:
    assert read_value(write_value(value)) == value


def test_timestamp_nanoseconds_are_truncated_to_microseconds() -> None:
    encoded = pack(msgpack.Timestamp(0, 1999))
    assert read_value(encoded) == datetime.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = "p"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (datetime.time(13, 5), "13:05:00"),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
        (Color.RED, "red"),
        (Level.HIGH, 3),
        (frozenset({1}), [1]),
        ({"only"}, ["only"]),
        ((1, "a"), [1, "a"]),
        (Point(1, 2), {"x": 1, "y": 2, "label": "p"}),
        (
            [Point(1, 2), {"when": datetime.date(2024, 1, 1)}],
            [
                {"x": 1, "y": 2, "label": "p"},
                {"when": "2024-01-01"},
            ],
        ),
    ],
)
def test_values_without_a_msgpack_type_convert_like_json(value: Any, expected: Any) -> None:
    assert read_value(write_value(value)) == expected


@pytest.mark.parametrize("value", [2**64 - 1, -(2**63), 2**63, -1, 0])
def test_64_bit_integers_are_fine(value: int) -> None:
    assert read_value(write_value(value)) == value


class Huge(enum.IntEnum):
    VALUE = 2**70


class HugeValue(enum.Enum):
    VALUE = 2**70


@pytest.mark.parametrize(
    "value", [2**64, -(2**63) - 1, 10**30, [1, {"k": 2**80}], Huge.VALUE, HugeValue.VALUE]
)
def test_integers_beyond_64_bits_are_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError):
        protocol.write_message(InvocationMessage("t", [value]))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_are_allowed(value: float) -> None:
    encoded = write_value(value)
    assert encoded[0] == 0xCB  # float64
    parsed = read_value(encoded)
    assert parsed == value or (math.isnan(value) and math.isnan(parsed))


def test_float32_is_read_as_float() -> None:
    assert read_value(h("ca 3f c0 00 00")) == 1.5


@pytest.mark.parametrize("value", [object(), decimal.Decimal("1.5"), 1j, type, len])
def test_unsupported_values_are_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        protocol.write_message(CompletionMessage.with_result("1", value))


def test_unencodable_string_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        protocol.write_message(StreamItemMessage("1", "\ud800"))


def test_self_referencing_value_is_a_value_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        protocol.write_message(StreamItemMessage("1", loop))


def test_writer_recovers_after_a_failed_write() -> None:
    with pytest.raises(TypeError):
        protocol.write_message(InvocationMessage("t", ["x" * 1000, object()]))
    assert body(InvocationMessage("method", [42], "xyz")) == h(INVOCATION)


def test_busy_shared_packer_falls_back_to_a_fresh_one() -> None:
    # Another thread holding the shared packer must not block or corrupt this write.
    value = [datetime.datetime(2024, 1, 1), b"\x01", {1: "a"}]
    expected = protocol.write_message(StreamItemMessage("1", value))
    assert codec_module._packer_lock.acquire(blocking=False)
    try:
        assert protocol.write_message(StreamItemMessage("1", value)) == expected
        with pytest.raises(ValueError):
            protocol.write_message(StreamItemMessage("1", 2**64))
    finally:
        codec_module._packer_lock.release()


def test_shared_packer_is_replaced_after_a_big_message() -> None:
    before = codec_module._packer
    big = StreamItemMessage("1", b"x" * (2 << 20))
    assert protocol.parse_record(body(big)) == big
    assert codec_module._packer is not before  # its peak-sized buffer is not kept
    assert body(InvocationMessage("method", [42], "xyz")) == h(INVOCATION)


def test_integer_and_string_map_keys_are_read() -> None:
    assert read_value(pack({1: "a", "b": 2, -5: None})) == {1: "a", "b": 2, -5: None}


def test_unknown_extension_types_pass_through() -> None:
    ext = msgpack.ExtType(5, b"\x01\x02")
    assert read_value(write_value(ext)) == ext


def test_arrays_are_read_as_lists() -> None:
    message = protocol.parse_record(pack([1, {}, None, "t", [[1, 2], (3,)]]))
    assert isinstance(message, InvocationMessage)
    assert message.arguments == [[1, 2], [3]]
