"""The ``json`` hub protocol codec (PROTOCOL.md §5 and §6) and the shared value rules."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import decimal
import enum
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_signalr.protocol.base import TransferFormat
from flask_signalr.protocol.errors import MessageTooLargeError, ProtocolError
from flask_signalr.protocol.json import JsonHubProtocol
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

protocol = JsonHubProtocol()
RS = b"\x1e"
UTC = datetime.UTC


def record(text: str) -> bytes:
    """One framed JSON record."""
    return text.encode("utf-8") + RS


def write_item(value: Any) -> bytes:
    """The JSON text of ``value`` as written in a StreamItem's ``item``."""
    written = protocol.write_message(StreamItemMessage("1", value))
    prefix, suffix = b'{"type":2,"invocationId":"1","item":', b"}" + RS
    assert written.startswith(prefix)
    assert written.endswith(suffix)
    return written[len(prefix) : -len(suffix)]


def parse_one(data: bytes) -> HubMessage | None:
    return protocol.parse_record(data)


def feed(chunks: Iterator[bytes] | list[bytes], limit: int = 0) -> list[HubMessage]:
    """Parse ``chunks`` as a transport would deliver them, carrying the tail along."""
    messages: list[HubMessage] = []
    tail = b""
    for chunk in chunks:
        parsed, tail = protocol.parse_messages(tail + chunk, limit)
        messages.extend(parsed)
    assert tail == b""
    return messages


# -- identity -----------------------------------------------------------------------------------


def test_protocol_identity() -> None:
    assert protocol.name == "json"
    assert protocol.transfer_format is TransferFormat.TEXT


@pytest.mark.parametrize(("version", "supported"), [(0, True), (1, True), (2, True), (3, False)])
def test_versions_up_to_two_are_supported(version: int, supported: bool) -> None:
    assert protocol.is_version_supported(version) is supported


# -- writing: exact bytes ---------------------------------------------------------------------

WRITTEN: list[tuple[HubMessage, str]] = [
    # Invocation: fire-and-forget omits invocationId entirely (never null).
    (InvocationMessage("Send", ["a", 1]), '{"type":1,"target":"Send","arguments":["a",1]}'),
    (
        InvocationMessage("Send", [], invocation_id="7"),
        '{"type":1,"invocationId":"7","target":"Send","arguments":[]}',
    ),
    (
        InvocationMessage("Upload", ["x"], stream_ids=("1", "2")),
        '{"type":1,"target":"Upload","arguments":["x"],"streamIds":["1","2"]}',
    ),
    (
        InvocationMessage("Send", [None], headers={"k": "v"}),
        '{"type":1,"target":"Send","arguments":[null],"headers":{"k":"v"}}',
    ),
    (InvocationMessage("Send", ("t", 2)), '{"type":1,"target":"Send","arguments":["t",2]}'),
    # StreamItem: item is written even when None.
    (StreamItemMessage("1", None), '{"type":2,"invocationId":"1","item":null}'),
    (StreamItemMessage("1", 10), '{"type":2,"invocationId":"1","item":10}'),
    (StreamItemMessage("1", {"a": [1]}), '{"type":2,"invocationId":"1","item":{"a":[1]}}'),
    # Completion: neither (end of stream), result (None included), or error.
    (CompletionMessage("1"), '{"type":3,"invocationId":"1"}'),
    (CompletionMessage.with_result("1", None), '{"type":3,"invocationId":"1","result":null}'),
    (CompletionMessage.with_result("1", 42), '{"type":3,"invocationId":"1","result":42}'),
    (CompletionMessage.with_result("1", False), '{"type":3,"invocationId":"1","result":false}'),
    (CompletionMessage.with_error("1", "boom"), '{"type":3,"invocationId":"1","error":"boom"}'),
    (
        CompletionMessage("1", result=5, error="boom", has_result=True),
        '{"type":3,"invocationId":"1","error":"boom"}',
    ),
    (
        StreamInvocationMessage("1", "Count", [2]),
        '{"type":4,"invocationId":"1","target":"Count","arguments":[2]}',
    ),
    (
        StreamInvocationMessage("1", "Count", [], stream_ids=("2",)),
        '{"type":4,"invocationId":"1","target":"Count","arguments":[],"streamIds":["2"]}',
    ),
    (CancelInvocationMessage("1"), '{"type":5,"invocationId":"1"}'),
    (PING, '{"type":6}'),
    (PingMessage(), '{"type":6}'),
    # Close: error only when set, allowReconnect only when true.
    (CloseMessage(), '{"type":7}'),
    (CloseMessage(error="bad"), '{"type":7,"error":"bad"}'),
    (CloseMessage(allow_reconnect=True), '{"type":7,"allowReconnect":true}'),
    (
        CloseMessage(error="Connection closed with an error.", allow_reconnect=True),
        '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}',
    ),
    (AckMessage(3), '{"type":8,"sequenceId":3}'),
    (SequenceMessage(4), '{"type":9,"sequenceId":4}'),
]


@pytest.mark.parametrize(("message", "text"), WRITTEN)
def test_writes_exact_bytes(message: HubMessage, text: str) -> None:
    assert protocol.write_message(message) == record(text)


@pytest.mark.parametrize("invocation_id", [None, ""])
def test_invocation_never_writes_a_null_or_empty_invocation_id(invocation_id: str | None) -> None:
    # The JS client rejects both with "Invalid payload for Invocation message." (PROTOCOL.md §6).
    written = protocol.write_message(InvocationMessage("Fire", [1], invocation_id=invocation_id))
    assert b"invocationId" not in written
    assert written == record('{"type":1,"target":"Fire","arguments":[1]}')


@pytest.mark.parametrize(("message", "text"), WRITTEN)
def test_written_record_is_a_single_terminated_record(message: HubMessage, text: str) -> None:
    written = protocol.write_message(message)
    assert written.count(RS) == 1
    assert written.endswith(RS)
    assert json.loads(written[:-1]) == json.loads(text)


def test_empty_headers_are_not_written() -> None:
    assert protocol.write_message(InvocationMessage("a", [], headers={})) == record(
        '{"type":1,"target":"a","arguments":[]}'
    )


def test_writing_a_non_message_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        protocol.write_message("not a message")  # type: ignore[arg-type]


# -- parsing: round trips and captured client output ----------------------------------------

ROUND_TRIPS: list[HubMessage] = [
    InvocationMessage("Send", ["a", 1]),
    InvocationMessage("Send", [{"a": [1, None]}], invocation_id="0"),
    InvocationMessage("Upload", ["x"], stream_ids=("1", "2")),
    InvocationMessage("Send", [], headers={"k": "v"}),
    StreamInvocationMessage("1", "Count", [2]),
    StreamInvocationMessage("1", "Count", [2], stream_ids=("3",), headers={"a": "b"}),
    StreamItemMessage("1", None),
    StreamItemMessage("1", [1, "x"]),
    StreamItemMessage("1", 1, headers={"a": "b"}),
    CompletionMessage("1"),
    CompletionMessage.with_result("1", None),
    CompletionMessage.with_result("1", {"nested": [1.5, True]}),
    CompletionMessage.with_error("1", "boom"),
    CancelInvocationMessage("1"),
    PING,
    CloseMessage(),
    CloseMessage(error="bad"),
    CloseMessage(allow_reconnect=True),
    CloseMessage(error="bad", allow_reconnect=True),
    AckMessage(0),
    SequenceMessage(12),
]


@pytest.mark.parametrize("message", ROUND_TRIPS)
def test_round_trip(message: HubMessage) -> None:
    messages, tail = protocol.parse_messages(protocol.write_message(message), 0)
    assert (messages, tail) == ([message], b"")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Exact JS client output (PROTOCOL.md §6); key order differs from ours.
        (
            '{"target":"Echo","arguments":[{"a":1}],"invocationId":"0","type":1}',
            InvocationMessage("Echo", [{"a": 1}], invocation_id="0"),
        ),
        ('{"target":"Fire","arguments":[5],"type":1}', InvocationMessage("Fire", [5])),
        (
            '{"target":"Count","arguments":[2],"invocationId":"1","type":4}',
            StreamInvocationMessage("1", "Count", [2]),
        ),
        (
            '{"target":"Upload","arguments":["x"],"streamIds":["2"],"type":1}',
            InvocationMessage("Upload", ["x"], stream_ids=("2",)),
        ),
        ('{"invocationId":"2","item":10,"type":2}', StreamItemMessage("2", 10)),
        ('{"invocationId":"2","type":3}', CompletionMessage("2")),
        ('{"invocationId":"s1","result":42,"type":3}', CompletionMessage.with_result("s1", 42)),
        (
            '{"error":"Client didn\'t provide a result.","invocationId":"s2","type":3}',
            CompletionMessage.with_error("s2", "Client didn't provide a result."),
        ),
        ('{"type":6}', PING),
        ('{"type":7}', CloseMessage()),
        # pysignalr writes both completion keys, one of them null.
        (
            '{"type":3,"invocationId":"1","result":42,"error":null}',
            CompletionMessage.with_result("1", 42),
        ),
        (
            '{"type":3,"invocationId":"1","result":null,"error":"x"}',
            CompletionMessage.with_error("1", "x"),
        ),
        ('{"type":3,"invocationId":"1","result":null}', CompletionMessage.with_result("1", None)),
        ('{"type":3,"invocationId":"1","error":null}', CompletionMessage("1")),
        # Null optionals are absent optionals.
        (
            '{"type":1,"invocationId":null,"target":"a","arguments":[],"streamIds":null}',
            InvocationMessage("a", []),
        ),
        ('{"type":1,"invocationId":"","target":"a","arguments":[]}', InvocationMessage("a", [])),
        ('{"type":2,"invocationId":"1","item":null}', StreamItemMessage("1", None)),
        ('{"type":2,"invocationId":"1"}', StreamItemMessage("1", None)),
        ('{"type":7,"error":null,"allowReconnect":null}', CloseMessage()),
        ('{"type":7,"allowReconnect":false}', CloseMessage()),
        (
            '{"type":7,"error":"Server timeout elapsed","allowReconnect":true}',
            CloseMessage(error="Server timeout elapsed", allow_reconnect=True),
        ),
        # Headers are accepted on types 1-5 (pysignalr copies its HTTP headers into them).
        (
            '{"type":1,"target":"a","arguments":[],"headers":{"Authorization":"Bearer x"}}',
            InvocationMessage("a", [], headers={"Authorization": "Bearer x"}),
        ),
        (
            '{"type":1,"target":"a","arguments":[],"invocationId":"1","headers":{}}',
            InvocationMessage("a", [], invocation_id="1", headers={}),
        ),
        (
            '{"type":5,"invocationId":"9","headers":{"a":"b"}}',
            CancelInvocationMessage("9", headers={"a": "b"}),
        ),
        ('{"type":1,"target":"a","arguments":[],"headers":null}', InvocationMessage("a", [])),
        # Unknown properties are ignored; so is whitespace.
        ('{"type":6,"extra":{"x":1}}', PING),
        ('  {\n "type" : 6 \n}  ', PING),
        ('{"type":8,"sequenceId":5}', AckMessage(5)),
        ('{"type":9,"sequenceId":1}', SequenceMessage(1)),
        # Non-ASCII arrives as UTF-8 or as escapes.
        ('{"type":1,"target":"a","arguments":["héllo ✓"]}', InvocationMessage("a", ["héllo ✓"])),
        ('{"type":1,"target":"a","arguments":["\\u00e9"]}', InvocationMessage("a", ["é"])),
    ],
)
def test_parses_client_forms(text: str, message: HubMessage) -> None:
    assert parse_one(text.encode("utf-8")) == message


def test_completion_with_null_result_is_a_result_not_a_bare_completion() -> None:
    parsed = parse_one(b'{"type":3,"invocationId":"1","result":null}')
    assert isinstance(parsed, CompletionMessage)
    assert parsed.has_result
    assert parsed.error is None
    bare = parse_one(b'{"type":3,"invocationId":"1"}')
    assert isinstance(bare, CompletionMessage)
    assert not bare.has_result


@pytest.mark.parametrize(
    "text", ['{"type":99}', '{"type":0}', '{"type":-1}', '{"type":10,"target":5}']
)
def test_unknown_message_types_are_ignored(text: str) -> None:
    assert parse_one(text.encode()) is None
    assert protocol.parse_messages(record(text) + record('{"type":6}'), 0) == ([PING], b"")


# -- framing: partial and several records ---------------------------------------------------

STREAM = b"".join(
    protocol.write_message(message)
    for message in (
        InvocationMessage("Send", ["héllo ✓", 1], invocation_id="0"),
        PING,
        CompletionMessage.with_result("1", {"a": None}),
    )
)
STREAM_MESSAGES = [
    InvocationMessage("Send", ["héllo ✓", 1], invocation_id="0"),
    PING,
    CompletionMessage.with_result("1", {"a": None}),
]


def test_several_records_in_one_buffer() -> None:
    assert protocol.parse_messages(STREAM, 0) == (STREAM_MESSAGES, b"")


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_stream_split_anywhere(cut: int) -> None:
    # Includes cuts inside the multi-byte UTF-8 characters and right after a separator.
    assert feed([STREAM[:cut], STREAM[cut:]]) == STREAM_MESSAGES


@pytest.mark.parametrize(("first", "second"), [(5, 30), (1, 2), (40, 41), (12, 60)])
def test_stream_split_in_three(first: int, second: int) -> None:
    assert feed([STREAM[:first], STREAM[first:second], STREAM[second:]]) == STREAM_MESSAGES


def test_stream_fed_byte_by_byte() -> None:
    assert feed([STREAM[i : i + 1] for i in range(len(STREAM))]) == STREAM_MESSAGES


def test_partial_record_is_returned_as_the_tail() -> None:
    first = protocol.write_message(PING)
    partial = b'{"type":3,"invoc'
    assert protocol.parse_messages(first + partial, 0) == ([PING], partial)
    assert protocol.parse_messages(partial, 0) == ([], partial)
    assert protocol.parse_messages(b"", 0) == ([], b"")


def test_control_characters_in_values_never_split_a_record() -> None:
    # JSON escapes control characters, so a separator inside a string stays inside the record.
    message = InvocationMessage("a", ["x\x1ey", "\x00\n"])
    written = protocol.write_message(message)
    assert written.count(RS) == 1
    assert b"\\u001e" in written
    assert protocol.parse_messages(written, 0) == ([message], b"")


def test_malformed_record_inside_a_buffer_raises() -> None:
    with pytest.raises(ProtocolError):
        protocol.parse_messages(record('{"type":6}') + record("nope") + record('{"type":6}'), 0)


# -- size limit ------------------------------------------------------------------------------


def test_complete_record_over_the_limit_is_refused() -> None:
    data = record('{"type":1,"target":"a","arguments":["' + "x" * 100 + '"]}')
    with pytest.raises(MessageTooLargeError) as caught:
        protocol.parse_messages(data, 64)
    assert caught.value.limit == 64
    assert "64B" in str(caught.value)
    assert isinstance(caught.value, ProtocolError)


def test_unterminated_tail_over_the_limit_is_refused_before_it_ends() -> None:
    with pytest.raises(MessageTooLargeError):
        protocol.parse_messages(b'{"type":1,"target":"a","arguments":["' + b"x" * 100, 64)


def test_oversized_record_after_good_ones_is_refused() -> None:
    with pytest.raises(MessageTooLargeError):
        protocol.parse_messages(record('{"type":6}') + b"x" * 65 + RS, 64)


@pytest.mark.parametrize(("limit", "too_large"), [(10, False), (9, True), (0, False)])
def test_limit_counts_the_record_without_its_separator(limit: int, too_large: bool) -> None:
    data = record('{"type":6}')  # 10 bytes plus the separator; 0 disables the limit
    if too_large:
        with pytest.raises(MessageTooLargeError):
            protocol.parse_messages(data, limit)
    else:
        assert protocol.parse_messages(data, limit) == ([PING], b"")


def test_limit_applies_per_record_not_per_buffer() -> None:
    data = record('{"type":6}') * 10
    assert protocol.parse_messages(data, 10) == ([PING] * 10, b"")


def test_limit_counts_bytes_not_characters() -> None:
    text = '{"type":1,"target":"a","arguments":["' + "é" * 10 + '"]}'
    assert len(text) <= 50 < len(text.encode("utf-8"))
    with pytest.raises(MessageTooLargeError):
        protocol.parse_messages(record(text), 50)


# -- malformed input -------------------------------------------------------------------------

MALFORMED = [
    b"",
    b"not json",
    b"{",
    b'{"type":6',
    b"\xff\xfe",  # not UTF-8
    b"[]",
    b'"text"',
    b"42",
    b"null",
    b"{}",
    b'{"type":null}',
    b'{"type":"1"}',
    b'{"type":1.0}',
    b'{"type":1.5}',
    b'{"type":true}',
    b'{"type":[1]}',
    # Invocation
    b'{"type":1,"arguments":[]}',
    b'{"type":1,"target":null,"arguments":[]}',
    b'{"type":1,"target":5,"arguments":[]}',
    b'{"type":1,"target":"a"}',
    b'{"type":1,"target":"a","arguments":null}',
    b'{"type":1,"target":"a","arguments":{}}',
    b'{"type":1,"target":"a","arguments":"x"}',
    b'{"type":1,"target":"a","arguments":[],"invocationId":5}',
    b'{"type":1,"target":"a","arguments":[],"streamIds":[1]}',
    b'{"type":1,"target":"a","arguments":[],"streamIds":"1"}',
    b'{"type":1,"target":"a","arguments":[],"streamIds":[null]}',
    b'{"type":1,"target":"a","arguments":[],"headers":{"a":1}}',
    b'{"type":1,"target":"a","arguments":[],"headers":[]}',
    b'{"type":1,"target":"a","arguments":[],"headers":"x"}',
    # StreamItem
    b'{"type":2,"item":1}',
    b'{"type":2,"invocationId":1,"item":1}',
    # Completion
    b'{"type":3}',
    b'{"type":3,"result":1}',
    b'{"type":3,"invocationId":"1","error":5}',
    b'{"type":3,"invocationId":"1","error":{}}',
    # StreamInvocation
    b'{"type":4,"target":"a","arguments":[]}',
    b'{"type":4,"invocationId":"1","arguments":[]}',
    b'{"type":4,"invocationId":"1","target":"a"}',
    b'{"type":4,"invocationId":"1","target":"a","arguments":[],"streamIds":[2]}',
    # CancelInvocation
    b'{"type":5}',
    b'{"type":5,"invocationId":[]}',
    # Close
    b'{"type":7,"error":5}',
    # Ack / Sequence
    b'{"type":8}',
    b'{"type":8,"sequenceId":"1"}',
    b'{"type":8,"sequenceId":true}',
    b'{"type":9,"sequenceId":1.5}',
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_input_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_one(data)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"{}", "Missing required property 'type'."),
        (b'{"type":"1"}', "Expected 'type' to be of type Integer."),
        (b'{"type":1,"target":"a"}', "Missing required property 'arguments'."),
        (b'{"type":1,"arguments":[]}', "Missing required property 'target'."),
        (b'{"type":3}', "Missing required property 'invocationId'."),
        (b"[]", "Unexpected JSON Token Type. Expected a JSON Object."),
    ],
)
def test_protocol_error_texts(data: bytes, text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_one(data)
    assert str(caught.value) == text


@pytest.mark.parametrize("depth", [100, 5_000, 20_000])
def test_deeply_nested_arguments_are_a_protocol_error_or_parse(depth: int) -> None:
    # A record under the default 32 KB limit can nest far deeper than Python's recursion
    # limit; a hostile client must get a protocol error (a Close), not a RecursionError.
    data = b'{"type":1,"target":"a","arguments":' + b"[" * depth + b"]" * depth + b"}"
    try:
        parsed = parse_one(data)
    except ProtocolError:
        return
    assert isinstance(parsed, InvocationMessage)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_ever_raise_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        protocol.parse_messages(data, 0)


MESSAGE_KEYS = (
    *("type", "target", "arguments", "invocationId", "streamIds", "headers", "item"),
    *("result", "error", "allowReconnect", "sequenceId"),
)


@given(
    st.dictionaries(
        st.sampled_from(MESSAGE_KEYS),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-2, 12),
            st.text(max_size=3),
            st.lists(st.one_of(st.integers(), st.text(max_size=2)), max_size=2),
            st.dictionaries(st.text(max_size=2), st.one_of(st.integers(), st.text(max_size=2))),
        ),
    )
)
def test_arbitrary_objects_only_ever_raise_protocol_error(data: dict[str, Any]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_one(json.dumps(data).encode())


# -- value rules (protocol/values.py) ---------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Mood(enum.StrEnum):
    HAPPY = "happy"


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Event:
    at: datetime.datetime
    where: Point
    tags: frozenset[str]


SAMPLE_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), '"2024-01-02T03:04:05+00:00"'),
        (
            datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
            '"2024-01-02T03:04:05.123456+00:00"',
        ),
        (
            datetime.datetime(
                2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
            '"2024-01-02T03:04:05+02:00"',
        ),
        # Naive datetimes are taken as UTC, as the MessagePack codec takes them.
        (datetime.datetime(2024, 1, 2, 3, 4, 5), '"2024-01-02T03:04:05Z"'),
        (datetime.datetime(2024, 1, 2, 3, 4, 5, 600), '"2024-01-02T03:04:05.000600Z"'),
        (datetime.date(2024, 1, 2), '"2024-01-02"'),
        (datetime.time(3, 4, 5), '"03:04:05"'),
        (datetime.time(3, 4, 5, 10), '"03:04:05.000010"'),
        (b"\x00\x01\xff", '"AAH/"'),
        (b"", '""'),
        (bytearray(b"hi"), '"aGk="'),
        (memoryview(b"hi"), '"aGk="'),
        (SAMPLE_UUID, '"12345678-1234-5678-1234-567812345678"'),
        (Color.RED, '"red"'),
        (Level.HIGH, "3"),
        (Mood.HAPPY, '"happy"'),
        ({1}, "[1]"),
        (frozenset({"a"}), '["a"]'),
        ((1, "a"), '[1,"a"]'),
        (Point(1, 2), '{"x":1,"y":2}'),
        (
            Event(datetime.datetime(2024, 1, 2, tzinfo=UTC), Point(0, 1), frozenset({"t"})),
            '{"at":"2024-01-02T00:00:00+00:00","where":{"x":0,"y":1},"tags":["t"]}',
        ),
        ({"when": datetime.date(2024, 1, 2)}, '{"when":"2024-01-02"}'),
        ("héllo ✓ 日本", '"héllo ✓ 日本"'),
        ("emoji \U0001f600", '"emoji \U0001f600"'),
        (1.5, "1.5"),
        (True, "true"),
        (None, "null"),
        (2**53 + 1, "9007199254740993"),
    ],
)
def test_value_rules(value: Any, written: str) -> None:
    assert write_item(value) == written.encode("utf-8")


def test_non_ascii_text_is_written_as_utf8_not_escaped() -> None:
    written = protocol.write_message(InvocationMessage("Send", ["héllo ✓"]))
    assert "héllo ✓".encode() in written
    assert b"\\u" not in written
    written.decode("utf-8")  # valid UTF-8


def test_set_with_several_items_becomes_a_list_of_them() -> None:
    assert sorted(json.loads(write_item({3, 1, 2}))) == [1, 2, 3]


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        [1.0, math.nan],
        {"x": math.inf},
        Point(1, math.nan),  # type: ignore[arg-type]
    ],
)
def test_nan_and_infinity_are_refused(value: Any) -> None:
    # JavaScript's JSON.parse rejects NaN/Infinity (PROTOCOL.md §5).
    with pytest.raises(ValueError):
        protocol.write_message(CompletionMessage.with_result("1", value))


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (Opaque(), "Opaque"),
        (decimal.Decimal("1.5"), "Decimal"),
        (object(), "object"),
        (Point, "type"),  # the dataclass itself, not an instance
        (1 + 2j, "complex"),
        ([Opaque()], "Opaque"),
    ],
)
def test_unsupported_values_are_a_helpful_type_error(value: Any, type_name: str) -> None:
    with pytest.raises(TypeError) as caught:
        protocol.write_message(InvocationMessage("Send", [value]))
    text = str(caught.value)
    assert type_name in text
    assert "cannot be sent to SignalR clients" in text
    assert "dataclass" in text  # says what can be sent


def test_value_written_as_argument_and_as_result_alike() -> None:
    when = datetime.datetime(2024, 1, 2, tzinfo=UTC)
    assert protocol.write_message(InvocationMessage("a", [when])) == record(
        '{"type":1,"target":"a","arguments":["2024-01-02T00:00:00+00:00"]}'
    )
    assert protocol.write_message(CompletionMessage.with_result("1", when)) == record(
        '{"type":3,"invocationId":"1","result":"2024-01-02T00:00:00+00:00"}'
    )
