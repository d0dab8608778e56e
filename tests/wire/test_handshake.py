"""The handshake on a raw WebSocket (PROTOCOL.md §4, §17 items 3 and 8)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from support.raw import BINARY, RS, TEXT, RawHub, handshake_record, record
from support.server import RunningServer
from support.waiting import wait_until

Raw = Callable[..., RawHub]


def assert_refused(client: RawHub, error: str) -> None:
    """The handshake reply is exactly ``{"error": error}`` and the socket then closes."""
    reply = client.next_frame()
    assert reply.opcode == TEXT
    assert reply.data == json.dumps({"error": error}, separators=(",", ":")).encode() + RS
    messages, close = client.read_until_closed()
    assert messages == []
    assert close.close_code == 1000
    assert client.socket_ends()


def test_json_handshake_reply_is_exactly_empty_object_in_a_text_frame(
    server: RunningServer, raw: Raw
) -> None:
    client = raw(server).open()
    client.send(handshake_record("json"))
    reply = client.next_frame()
    assert reply.opcode == TEXT
    assert reply.data == b"{}\x1e"
    assert client.invoke("Add", 1, 2)["result"] == 3


@pytest.mark.parametrize("frame_type", [TEXT, BINARY], ids=["text-frame", "binary-frame"])
def test_messagepack_handshake_is_answered_in_a_binary_frame(
    server: RunningServer, raw: Raw, frame_type: int
) -> None:
    client = raw(server).open()
    client.send(handshake_record("messagepack"), frame_type)
    reply = client.next_frame()
    assert reply.opcode == BINARY
    assert reply.data == b"{}\x1e"


def test_messagepack_connection_answers_in_binary_frames(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    client.send(handshake_record("messagepack"))
    assert client.next_frame().data == b"{}\x1e"
    # [1, {}, "1", "Add", [1, 2]] as the JS client writes it (5 elements), VarInt-framed.
    body = bytes([0x95, 0x01, 0x80, 0xA1, 0x31, 0xA3]) + b"Add" + bytes([0x92, 0x01, 0x02])
    client.send(bytes([len(body)]) + body, BINARY)
    completion = client.next_frame()
    assert completion.opcode == BINARY
    # [3, {}, "1", 3 (result kind), 3]
    assert completion.data == bytes([0x07, 0x95, 0x03, 0x80, 0xA1, 0x31, 0x03, 0x03])


def test_handshake_split_across_frames_is_accepted(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    request = handshake_record("json")
    client.send(request[:10])
    client.send(request[10:])
    assert client.next_frame().data == b"{}\x1e"


def test_unknown_protocol_is_refused_then_closed(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    client.send(handshake_record("foo"))
    assert_refused(client, "The protocol 'foo' is not supported.")


def test_unsupported_version_is_refused_then_closed(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    client.send(handshake_record("json", 3))
    assert_refused(client, "The server does not support version 3 of the 'json' protocol.")


def test_protocol_not_enabled_on_the_server_is_refused(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(protocols=["json"])
    client = raw(server).open()
    client.send(handshake_record("messagepack"))
    assert_refused(client, "The protocol 'messagepack' is not supported.")


@pytest.mark.parametrize(
    "request_bytes",
    [b"{not json}\x1e", b"[1,2]\x1e", b'{"version":1}\x1e', b'{"protocol":"json"}\x1e'],
    ids=["not-json", "not-an-object", "no-protocol", "no-version"],
)
def test_malformed_handshake_is_refused_with_an_error_then_closed(
    server: RunningServer, raw: Raw, request_bytes: bytes
) -> None:
    client = raw(server).open()
    client.send(request_bytes)
    _opcode, reply = client.next_record()
    error = json.loads(reply)["error"]
    assert error.startswith("An unexpected error occurred during connection handshake.")
    _messages, close = client.read_until_closed()
    assert close.close_code == 1000


def test_handshake_timeout_cancels_the_connection(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(handshake_timeout=0.3)
    client = raw(server).open()
    reply = client.next_frame(timeout=3)
    assert reply.data == b'{"error":"Handshake was canceled."}\x1e'
    _messages, close = client.read_until_closed()
    assert close.close_code == 1000
    registry = server.endpoint("/hubs/test").registry
    wait_until(lambda: registry.active_count() == 0, what="the connection to be released")
    # No hub code ran for a connection that never completed its handshake.
    assert server.app.config["TEST_EVENTS"] == []


def test_oversized_handshake_is_canceled(
    start_server: Callable[..., RunningServer], raw: Raw
) -> None:
    server = start_server(maximum_receive_message_size=1024)
    client = raw(server).open()
    client.send(record({"protocol": "json", "version": 1, "padding": "x" * 2000}))
    assert_refused(client, "Handshake was canceled.")


def test_hub_messages_in_the_handshake_frame_are_processed(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    client.send(
        handshake_record("json")
        + record({"type": 1, "invocationId": "7", "target": "Add", "arguments": [40, 2]})
    )
    assert client.next_record() == (TEXT, b"{}")
    assert client.next_message() == {"type": 3, "invocationId": "7", "result": 42}


def test_unknown_handshake_keys_are_ignored(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    client.send(record({"protocol": "json", "version": 1, "extra": {"nested": True}}))
    assert client.next_frame().data == b"{}\x1e"


def test_on_connected_runs_after_the_handshake(server: RunningServer, raw: Raw) -> None:
    client = raw(server).open()
    events = server.app.config["TEST_EVENTS"]
    client.send(handshake_record("json"))
    assert client.next_frame().data == b"{}\x1e"
    connection_id = client.result("Whoami")["connectionId"]
    assert ("connected", connection_id) in events
    assert client.result("GetItem", "connected_at") == "on_connected"


def test_permessage_deflate_offer_is_declined(server: RunningServer, raw: Raw) -> None:
    """Node's ws client offers compression; frames are shared between sockets, so never."""
    client = raw(server)
    client.open(header=["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"])
    assert client.ws is not None
    headers = {k.lower(): v for k, v in (client.ws.getheaders() or {}).items()}
    assert "sec-websocket-extensions" not in headers
    client.send(handshake_record())
    assert client.next_frame().data == b"{}\x1e"
    assert client.invoke("Echo", "plain")["result"] == "plain"
