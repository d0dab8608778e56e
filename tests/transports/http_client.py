"""A raw HTTP client for the Server-Sent Events and long-polling transports (no SignalR library).

``HttpHub`` sends exactly the requests a test asks for and returns the raw ``requests``
responses; ``EventStream`` reads an SSE response chunk by chunk in a greenlet, so a test sees
exactly what the server flushed and when. Every read waits with a timeout, never a sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import msgpack
import requests
import websocket
from gevent.queue import Empty, Queue

from support.server import RunningServer

RS = b"\x1e"
READ_TIMEOUT = 5.0
_T = TypeVar("_T")


def record(message: dict[str, Any]) -> bytes:
    """One JSON record: compact JSON plus the record separator."""
    return json.dumps(message, separators=(",", ":")).encode() + RS


def handshake(protocol: str = "json") -> bytes:
    return record({"protocol": protocol, "version": 1})


def json_records(body: bytes) -> list[dict[str, Any]]:
    """The JSON records of a response body (which must end on a record boundary)."""
    assert body.endswith(RS), body
    return [json.loads(part) for part in body.split(RS)[:-1]]


def msgpack_record(message: list[Any]) -> bytes:
    payload = msgpack.packb(message)
    length, prefix = len(payload), bytearray()
    while length > 0x7F:
        prefix.append((length & 0x7F) | 0x80)
        length >>= 7
    prefix.append(length)
    return bytes(prefix) + payload


def msgpack_records(body: bytes) -> list[Any]:
    """The MessagePack records of a body: VarInt length prefix, then the payload."""
    messages, position = [], 0
    while position < len(body):
        length = shift = 0
        while True:
            byte = body[position]
            position += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        messages.append(msgpack.unpackb(body[position : position + length]))
        position += length
    return messages


def websocket_status(url: str) -> int:
    """The status the server answers a WebSocket upgrade with (101 = accepted)."""
    try:
        ws = websocket.create_connection(url, timeout=READ_TIMEOUT)
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code)
    status = int(ws.getstatus())
    ws.close()
    return status


class EventStream:
    """An open SSE response whose body chunks arrive in a queue as the server writes them."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._chunks: Queue = Queue()
        self._buffer = b""
        self._records: list[dict[str, Any]] = []
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        try:
            for chunk in self.response.iter_content(chunk_size=None):
                self._chunks.put(chunk)
        except (requests.RequestException, OSError):
            pass  # closed by the test, or the socket died: the end of the stream either way
        self._chunks.put(None)

    def next_chunk(self, timeout: float = READ_TIMEOUT) -> bytes | None:
        """The next piece the server flushed (None once the stream has ended)."""
        try:
            chunk: bytes | None = self._chunks.get(timeout=timeout)
        except Empty:
            raise AssertionError(
                f"Nothing arrived on the event stream within {timeout}s."
            ) from None
        return chunk

    def next_event(self, timeout: float = READ_TIMEOUT) -> bytes | None:
        """The raw text of the next event (its ``data:`` lines and blank line), None at the end."""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.next_chunk(timeout)
            if chunk is None:
                assert not self._buffer, self._buffer
                return None
            self._buffer += chunk
        event, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        return event + b"\r\n\r\n"

    def next_data(self, timeout: float = READ_TIMEOUT) -> bytes | None:
        """The data of the next event with data (comments skipped), None at the end."""
        while True:
            event = self.next_event(timeout)
            if event is None:
                return None
            lines = event[:-4].split(b"\r\n")
            data = [line[len(b"data: ") :] for line in lines if line.startswith(b"data: ")]
            if data:
                return b"\n".join(data)

    def next_message(self, timeout: float = READ_TIMEOUT) -> dict[str, Any] | None:
        """The next JSON record (an event may carry several: a burst of broadcasts)."""
        if not self._records:
            data = self.next_data(timeout)
            if data is None:
                return None
            self._records.extend(json_records(data))
        return self._records.pop(0)

    def ended(self, timeout: float = READ_TIMEOUT) -> bool:
        """Read until the server ends the stream; True if it did within ``timeout``."""
        try:
            while self.next_chunk(timeout) is not None:
                pass
        except AssertionError:
            return False
        return True

    def close(self) -> None:
        """Hang up, as a client closing its EventSource does."""
        self._reader.kill()  # first: it may be inside a read of the response
        self.response.close()


class HttpHub:
    """Raw requests to one hub of a :class:`RunningServer`."""

    def __init__(self, server: RunningServer, path: str = "/hubs/test") -> None:
        self.server = server
        self.url = server.hub_url(path)
        self.ws_url = server.ws_url + path
        self._streams: list[EventStream] = []

    def negotiate(self, **kwargs: Any) -> requests.Response:
        return requests.post(
            self.url + "/negotiate", params={"negotiateVersion": 1}, timeout=READ_TIMEOUT, **kwargs
        )

    def token(self, **kwargs: Any) -> str:
        response = self.negotiate(**kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        return str(response.json()["connectionToken"])

    def poll(self, token: str | None, timeout: float = READ_TIMEOUT, **kwargs: Any) -> Any:
        params = {"_": str(int(time.time() * 1000))}
        if token is not None:
            params["id"] = token
        return requests.get(self.url, params=params, timeout=timeout, **kwargs)

    def poll_later(self, token: str, **kwargs: Any) -> gevent.Greenlet:
        """Start a poll in a greenlet (``.get()`` gives the response)."""
        return gevent.spawn(self.poll, token, **kwargs)

    def post(self, token: str | None, body: bytes, **kwargs: Any) -> requests.Response:
        params = {} if token is None else {"id": token}
        return requests.post(
            self.url,
            params=params,
            data=body,
            headers={"Content-Type": "text/plain;charset=UTF-8", **kwargs.pop("headers", {})},
            timeout=READ_TIMEOUT,
            **kwargs,
        )

    def delete(self, token: str | None, **kwargs: Any) -> requests.Response:
        params = {} if token is None else {"id": token}
        return requests.delete(self.url, params=params, timeout=READ_TIMEOUT, **kwargs)

    def stream_request(self, token: str | None, **kwargs: Any) -> requests.Response:
        """``GET`` with ``Accept: text/event-stream``, returned once the headers arrived."""
        params = {} if token is None else {"id": token}
        params.update(kwargs.pop("params", {}))
        headers = {"Accept": "text/event-stream", **kwargs.pop("headers", {})}
        return requests.get(
            self.url, params=params, headers=headers, stream=True, timeout=READ_TIMEOUT, **kwargs
        )

    def open_stream(self, token: str, **kwargs: Any) -> EventStream:
        response = self.stream_request(token, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        stream = EventStream(response)
        self._streams.append(stream)
        return stream

    def close(self) -> None:
        for stream in self._streams:
            stream.close()

    # -- whole connections --------------------------------------------------------------------

    def long_polling(self, protocol: str = "json", **kwargs: Any) -> str:
        """Negotiate, first poll and handshake (answered by the next poll); returns the token."""
        token = self.token(**kwargs)
        assert self.poll(token, **kwargs).status_code == 200
        assert self.post(token, handshake(protocol), **kwargs).status_code == 200
        answer = self.poll(token, **kwargs)
        assert (answer.status_code, answer.content) == (200, b"{}" + RS)
        return token

    def event_stream(self, **kwargs: Any) -> tuple[str, EventStream]:
        """Negotiate, open the stream and handshake; returns the token and the stream."""
        token = self.token(**kwargs)
        stream = self.open_stream(token, **kwargs)
        assert stream.next_chunk() == b":\r\n"
        assert self.post(token, handshake(), **kwargs).status_code == 200
        assert stream.next_data() == b"{}" + RS
        return token, stream


#: The ``http_hub`` fixture: ``http_hub(server, path="/hubs/test")``.
MakeHub = Callable[..., HttpHub]
