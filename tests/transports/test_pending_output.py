"""The pull queue behind both HTTP transports, and the SSE event framing, without a server."""

from __future__ import annotations

import gevent
import pytest

from flask_signalr.server.writer import PendingOutput
from flask_signalr.transports.sse import encode_event


def test_take_returns_everything_pending_at_once() -> None:
    output = PendingOutput(limit=100)
    assert output.send(b"a") and output.send(b"bc")
    assert output.take(timeout=0) == b"abc"
    assert output.take(timeout=0) == b""  # nothing new: the wait times out


def test_take_waits_for_data() -> None:
    output = PendingOutput(limit=100)
    taker = gevent.spawn(output.take, None)
    gevent.sleep(0)  # let the taker start waiting
    assert not taker.ready()
    output.send(b"x")
    assert taker.get(timeout=1) == b"x"


def test_close_delivers_what_is_pending_then_ends() -> None:
    output = PendingOutput(limit=100)
    output.send(b"last")
    output.close()
    assert output.send(b"too late")  # dropped quietly, not an overflow
    assert output.take(timeout=0) == b"last"
    assert output.take(timeout=None) is None
    assert output.take(timeout=None) is None  # and stays over


def test_close_wakes_a_waiting_taker() -> None:
    output = PendingOutput(limit=100)
    taker = gevent.spawn(output.take, None)
    gevent.sleep(0)
    output.close()
    assert taker.get(timeout=1) is None


def test_abort_drops_what_is_pending() -> None:
    output = PendingOutput(limit=100)
    output.send(b"dropped")
    output.abort()
    assert output.take(timeout=None) is None


@pytest.mark.parametrize(("sizes", "accepted"), [([50, 50], True), ([50, 51], False)])
def test_more_than_the_limit_pending_is_an_overflow(sizes: list[int], accepted: bool) -> None:
    output = PendingOutput(limit=100)
    results = [output.send(b"x" * size) for size in sizes]
    assert results == [True, accepted]


def test_taking_makes_room_again() -> None:
    output = PendingOutput(limit=100)
    assert output.send(b"x" * 100)
    output.take(timeout=0)
    assert output.send(b"x" * 100)


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        (b'{"type":6}\x1e', b'data: {"type":6}\x1e\r\n\r\n'),
        (b"a\nb\r\nc", b"data: a\r\ndata: b\r\ndata: c\r\n\r\n"),
        (b"", b"data: \r\n\r\n"),
    ],
)
def test_each_payload_line_becomes_a_data_line(payload: bytes, event: bytes) -> None:
    assert encode_event(payload) == event
