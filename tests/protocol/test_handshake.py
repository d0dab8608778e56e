"""The handshake request/response codec (PROTOCOL.md §4)."""

from __future__ import annotations

import json

import pytest

from flask_signalr.protocol.errors import HandshakeError, ProtocolError
from flask_signalr.protocol.handshake import (
    HANDSHAKE_CANCELED,
    HandshakeRequest,
    parse_handshake_request,
    write_handshake_response,
)

RS = b"\x1e"
JSON_REQUEST = b'{"protocol":"json","version":1}' + RS
UNEXPECTED = "An unexpected error occurred during connection handshake."
MISSING_PROTOCOL = f"{UNEXPECTED} InvalidDataException: Missing required property 'protocol'."
MISSING_VERSION = f"{UNEXPECTED} InvalidDataException: Missing required property 'version'."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JSON_REQUEST, HandshakeRequest("json", 1)),
        (b'{"protocol":"messagepack","version":1}' + RS, HandshakeRequest("messagepack", 1)),
        # The JS client sends version 2 when stateful reconnect was negotiated.
        (b'{"protocol":"json","version":2}' + RS, HandshakeRequest("json", 2)),
        # Names and versions are not judged here: the connection handler refuses them.
        (b'{"protocol":"xml","version":7}' + RS, HandshakeRequest("xml", 7)),
        (b'{"version":1,"protocol":"json"}' + RS, HandshakeRequest("json", 1)),
        (b'{"protocol":"json","version":1,"extra":[1]}' + RS, HandshakeRequest("json", 1)),
        (b' {\n"protocol" : "json",\t"version": 1 }\n' + RS, HandshakeRequest("json", 1)),
    ],
)
def test_complete_request(data: bytes, expected: HandshakeRequest) -> None:
    assert parse_handshake_request(data, 32768) == (expected, b"")


@pytest.mark.parametrize(
    "rest",
    [
        b'{"type":6}' + RS,
        b'{"type":6}' + RS + b'{"type":1,"target":"a","arguments":[]}' + RS,
        b'{"type":1,"tar',  # a partial hub message stays for the codec
        b"\x01\x91\x06",  # MessagePack records follow the JSON handshake
        RS,
        JSON_REQUEST,  # a second handshake is just bytes to the codec
    ],
)
def test_trailing_bytes_are_returned(rest: bytes) -> None:
    assert parse_handshake_request(JSON_REQUEST + rest, 32768) == (
        HandshakeRequest("json", 1),
        rest,
    )


@pytest.mark.parametrize("cut", range(len(JSON_REQUEST)))
def test_incomplete_request_waits_for_more(cut: int) -> None:
    partial = JSON_REQUEST[:cut]
    assert parse_handshake_request(partial, 32768) == (None, partial)


def test_incomplete_then_complete() -> None:
    buffer = b""
    request = None
    for byte in JSON_REQUEST + b'{"type":6}':
        request, buffer = parse_handshake_request(buffer + bytes([byte]), 32768)
        if request is not None:
            break
        assert buffer  # nothing is dropped while waiting
    assert request == HandshakeRequest("json", 1)
    assert buffer == b""


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b'{"version":1}', MISSING_PROTOCOL),
        (b'{"protocol":null,"version":1}', MISSING_PROTOCOL),
        (b'{"protocol":5,"version":1}', MISSING_PROTOCOL),
        (b'{"protocol":["json"],"version":1}', MISSING_PROTOCOL),
        (b'{"protocol":"json"}', MISSING_VERSION),
        (b'{"protocol":"json","version":null}', MISSING_VERSION),
        (b'{"protocol":"json","version":"1"}', MISSING_VERSION),
        (b'{"protocol":"json","version":1.5}', MISSING_VERSION),
        (b'{"protocol":"json","version":true}', MISSING_VERSION),
        (b"{}", MISSING_PROTOCOL),
        (b"", UNEXPECTED),
        (b"not json", UNEXPECTED),
        (b"{", UNEXPECTED),
        (b"\xff\xfe", UNEXPECTED),
        (b"[]", UNEXPECTED),
        (b'"json"', UNEXPECTED),
        (b"1", UNEXPECTED),
        (b"null", UNEXPECTED),
        (b"[" * 20_000 + b"]" * 20_000, UNEXPECTED),  # deep nesting, not a RecursionError
    ],
)
def test_invalid_request_texts(data: bytes, text: str) -> None:
    with pytest.raises(HandshakeError) as caught:
        parse_handshake_request(data + RS, 0)
    assert str(caught.value) == text


def test_handshake_error_is_a_protocol_error() -> None:
    assert issubclass(HandshakeError, ProtocolError)


@pytest.mark.parametrize(
    ("data", "limit"),
    [
        (JSON_REQUEST, len(JSON_REQUEST) - 2),  # complete record one byte over
        (JSON_REQUEST + b'{"type":6}' + RS, 10),
        (b'{"protocol":"json","version":1' + b" " * 100, 64),  # unterminated and already too big
        (b"x" * 65, 64),
    ],
)
def test_oversize_handshake_is_canceled(data: bytes, limit: int) -> None:
    with pytest.raises(HandshakeError) as caught:
        parse_handshake_request(data, limit)
    assert str(caught.value) == HANDSHAKE_CANCELED == "Handshake was canceled."


def test_size_limit_counts_the_record_without_its_separator() -> None:
    limit = len(JSON_REQUEST) - 1
    assert parse_handshake_request(JSON_REQUEST, limit) == (HandshakeRequest("json", 1), b"")


def test_size_limit_ignores_the_messages_after_the_handshake() -> None:
    rest = b'{"type":1,"target":"a","arguments":["' + b"x" * 200 + b'"]}' + RS
    assert parse_handshake_request(JSON_REQUEST + rest, 64) == (HandshakeRequest("json", 1), rest)


def test_zero_limit_disables_the_check() -> None:
    data = b'{"protocol":"json","version":1,"pad":"' + b"x" * 100_000 + b'"}' + RS
    assert parse_handshake_request(data, 0) == (HandshakeRequest("json", 1), b"")
    assert parse_handshake_request(b"x" * 100_000, 0) == (None, b"x" * 100_000)


# -- response --------------------------------------------------------------------------------


def test_success_response_is_exactly_an_empty_object() -> None:
    assert write_handshake_response() == b"{}\x1e"
    assert write_handshake_response(None) == b"{}\x1e"


@pytest.mark.parametrize(
    ("error", "written"),
    [
        (
            "The protocol 'xml' is not supported.",
            b'{"error":"The protocol \'xml\' is not supported."}\x1e',
        ),
        (
            "The server does not support version 3 of the 'json' protocol.",
            b'{"error":"The server does not support version 3 of the \'json\' protocol."}\x1e',
        ),
        (HANDSHAKE_CANCELED, b'{"error":"Handshake was canceled."}\x1e'),
        ('say "hi"\x1e', b'{"error":"say \\"hi\\"\\u001e"}\x1e'),
        ("", b'{"error":""}\x1e'),
    ],
)
def test_error_response_bytes(error: str, written: bytes) -> None:
    assert write_handshake_response(error) == written


@pytest.mark.parametrize("error", [None, "x", "héllo ✓", "a\x1eb"])
def test_response_is_one_record_without_a_type(error: str | None) -> None:
    # A "type" key makes the JS client fail with "Expected a handshake response from the server."
    written = write_handshake_response(error)
    assert written.count(RS) == 1
    assert written.endswith(RS)
    body = json.loads(written[:-1])
    assert "type" not in body
    assert body == ({} if error is None else {"error": error})
