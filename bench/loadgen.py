"""The load generator: one process, one epoll loop, raw non-blocking sockets.

It speaks just enough of each wire protocol to drive the servers under test (client frames are
masked with an all-zero key, which RFC 6455 allows and which leaves the payload as is):

* ``signalr-json`` / ``signalr-msgpack``: ASP.NET Core SignalR over WebSockets with
  skipNegotiation (straight to the hub URL), the JSON handshake, then RS-terminated JSON records
  or VarInt-prefixed MessagePack records (PROTOCOL.md §3.1, §4, §5, §6, §8);
* ``socketio``: Engine.IO v4 / Socket.IO v5 over a WebSocket (``0`` open, ``40`` connect,
  ``42[...]`` events, ``421[...]``/``431[...]`` acks for echo, ``2``/``3`` ping/pong);
* ``bare``: the ceiling server's trivial protocol (``B``/``b`` broadcast with/without ack,
  ``E`` echo, ``A`` ack).

Designed not to be the bottleneck: every payload the benchmark sends carries the marker ``@@``
followed by a 19-digit timestamp, so receivers in a burst count deliveries with one
``bytes.count`` per read (C speed, whatever the framing, however many records share a frame)
instead of parsing frames in Python. Paced receivers read with ``recvmsg`` and the kernel's
``SO_TIMESTAMPNS`` arrival time, so end-to-end latency does not include the time this process
takes to get round to a socket. ``strict`` mode (the smoke test) parses every frame and record
fully and checks the marker count against the decoded messages.

Usage: ``python -m bench.loadgen '<json spec>'``; prints one JSON object on stdout.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import json
import os
import resource
import select
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import msgpack

MARK = b"@@"
TS_DIGITS = 19
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
RECV_SIZE = 262144

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
SIO_PING_FRAME = b"\x81\x012"  # an unmasked server text frame carrying Engine.IO "2"


def payload_text(size: int, ts: int = 0) -> str:
    """A broadcast/echo argument of ``size`` characters: marker, timestamp, padding."""
    head = f"@@{ts:019d}|"
    return head + "x" * max(0, size - len(head))


def client_frame(payload: bytes, opcode: int) -> bytes:
    """A masked (all-zero key), final client frame."""
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0xFF, n)
    return header + b"\0\0\0\0" + payload


class FrameReader:
    """Parses server frames (unmasked; fragments reassembled)."""

    __slots__ = ("buf", "frag", "frag_op")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.frag: bytearray | None = None
        self.frag_op = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self.buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            header = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                header = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                header = 10
            mask = b""
            if b1 & 0x80:
                if n - pos < header + 4:
                    break
                mask = bytes(buf[pos + header : pos + header + 4])
                header += 4
            end = pos + header + length
            if end > n:
                break
            payload = bytes(buf[pos + header : end])
            if mask and mask != b"\0\0\0\0":
                key = (mask * (length // 4 + 1))[:length]
                payload = bytes(a ^ b for a, b in zip(payload, key, strict=True))
            pos = end
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode == 0:  # continuation
                if self.frag is None:
                    raise ValueError("continuation frame without a start")
                self.frag += payload
                if fin:
                    out.append((self.frag_op, bytes(self.frag)))
                    self.frag = None
            elif not fin and opcode < 8:
                self.frag = bytearray(payload)
                self.frag_op = opcode
            else:
                out.append((opcode, payload))
        if pos:
            del buf[:pos]
        return out


# -- protocols ---------------------------------------------------------------------------------
#
# decode() turns one WebSocket message into a list of (kind, a, b):
#   ("inv", target, args)  a broadcast delivery / event;   ("comp", id, value)  a result or ack;
#   ("ping", ...) the server's keep-alive;  ("close", ...);  ("hs", ...) a handshake step.


class SignalRJson:
    name = "signalr-json"
    path = "/hub"
    opcode = OP_TEXT
    keepalive = True
    binary_frames = 0

    def handshake_frame(self) -> bytes:
        return client_frame(b'{"protocol":"json","version":1}\x1e', OP_TEXT)

    def record(self, message: dict[str, Any]) -> bytes:
        return json.dumps(message, separators=(",", ":")).encode() + b"\x1e"

    def invocation(self, target: str, argument: str, invocation_id: str | None) -> bytes:
        message: dict[str, Any] = {"type": 1, "target": target, "arguments": [argument]}
        if invocation_id is not None:
            message["invocationId"] = invocation_id
        return client_frame(self.record(message), self.opcode)

    def ping(self) -> bytes:
        return client_frame(b'{"type":6}\x1e', self.opcode)

    def split_handshake(self, payload: bytes) -> tuple[bytes, bytes] | None:
        end = payload.find(b"\x1e")
        if end < 0:
            return None
        return payload[:end], payload[end + 1 :]

    def decode(self, opcode: int, payload: bytes) -> list[tuple[str, Any, Any]]:
        if opcode != OP_TEXT:
            # aiosignalr sends JSON in binary frames (a browser client would get a Blob);
            # counted and reported, not fatal, so that it can still be measured.
            self.binary_frames += 1
        if not payload.endswith(b"\x1e"):
            raise ValueError("JSON message is incomplete (no trailing RS)")
        out: list[tuple[str, Any, Any]] = []
        for raw in payload.split(b"\x1e")[:-1]:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == 1:
                out.append(("inv", message["target"], message["arguments"]))
            elif kind == 3:
                out.append(("comp", message.get("invocationId"), message.get("result")))
            elif kind == 6:
                out.append(("ping", None, None))
            elif kind == 7:
                out.append(("close", message.get("error"), None))
            else:
                out.append(("other", kind, message))
        return out


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class SignalRMsgpack(SignalRJson):
    name = "signalr-msgpack"
    opcode = OP_BINARY

    def handshake_frame(self) -> bytes:
        # As the JS client does: the handshake request goes in a text frame.
        return client_frame(b'{"protocol":"messagepack","version":1}\x1e', OP_TEXT)

    def invocation(self, target: str, argument: str, invocation_id: str | None) -> bytes:
        body = msgpack.packb([1, {}, invocation_id, target, [argument], []])
        return client_frame(_varint(len(body)) + body, OP_BINARY)

    def ping(self) -> bytes:
        return client_frame(b"\x02\x91\x06", OP_BINARY)

    def decode(self, opcode: int, payload: bytes) -> list[tuple[str, Any, Any]]:
        if opcode != OP_BINARY:
            raise ValueError(f"MessagePack protocol got a frame with opcode {opcode}")
        out: list[tuple[str, Any, Any]] = []
        pos = 0
        n = len(payload)
        while pos < n:
            length = 0
            shift = 0
            while True:
                byte = payload[pos]
                pos += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            if pos + length > n:
                raise ValueError("MessagePack record is incomplete")
            message = msgpack.unpackb(payload[pos : pos + length], raw=False)
            pos += length
            kind = message[0]
            if kind == 1:
                out.append(("inv", message[3], message[4]))
            elif kind == 3:
                out.append(("comp", message[2], message[4] if len(message) > 4 else None))
            elif kind == 6:
                out.append(("ping", None, None))
            elif kind == 7:
                out.append(("close", message[1], None))
            else:
                out.append(("other", kind, message))
        return out


class SocketIO:
    name = "socketio"
    path = "/socket.io/?EIO=4&transport=websocket"
    opcode = OP_TEXT
    keepalive = False  # the server pings; the client answers

    def handshake_frame(self) -> bytes:
        return b""  # the server speaks first (Engine.IO open packet)

    def invocation(self, target: str, argument: str, invocation_id: str | None) -> bytes:
        prefix = "42" if invocation_id is None else "421"  # ack ids may repeat: one per request
        text = prefix + json.dumps([target.lower(), argument], separators=(",", ":"))
        return client_frame(text.encode(), OP_TEXT)

    def ping(self) -> bytes:
        return b""

    def pong(self) -> bytes:
        return client_frame(b"3", OP_TEXT)

    def decode(self, opcode: int, payload: bytes) -> list[tuple[str, Any, Any]]:
        if opcode != OP_TEXT:
            raise ValueError(f"Socket.IO got a frame with opcode {opcode}")
        if payload == b"2":
            return [("ping", None, None)]
        if payload[:1] == b"0":
            return [("hs", "open", payload)]
        if payload[:2] == b"40":
            return [("hs", "connect", payload)]
        if payload[:2] == b"42":
            event = json.loads(payload[2:])
            return [("inv", event[0], event[1:])]
        if payload[:2] == b"43":
            body = payload[2:]
            start = body.find(b"[")
            return [("comp", body[:start].decode(), json.loads(body[start:]))]
        if payload[:2] == b"41" or payload[:1] == b"1":
            return [("close", payload, None)]
        return [("other", payload, None)]


class Bare:
    name = "bare"
    path = "/ws"
    opcode = OP_TEXT
    keepalive = False

    def handshake_frame(self) -> bytes:
        return b""

    def invocation(self, target: str, argument: str, invocation_id: str | None) -> bytes:
        kind = b"E" if target == "Echo" else b"B" if invocation_id is not None else b"b"
        return client_frame(kind + argument.encode(), OP_TEXT)

    def ping(self) -> bytes:
        return b""

    def decode(self, opcode: int, payload: bytes) -> list[tuple[str, Any, Any]]:
        if payload == b"A":
            return [("comp", None, None)]
        if payload[:1] == b"E":
            return [("comp", None, payload[1:].decode())]
        return [("inv", "send", [payload.decode()])]


PROTOCOLS: dict[str, Callable[[], Any]] = {
    "signalr-json": SignalRJson,
    "signalr-msgpack": SignalRMsgpack,
    "socketio": SocketIO,
    "bare": Bare,
}

# -- connections -------------------------------------------------------------------------------

CONNECTING, UPGRADING, HANDSHAKING, READY, CLOSED = range(5)


class Conn:
    __slots__ = (
        "at_tail",
        "count",
        "fast",
        "fd",
        "frames",
        "handler",
        "hs_stage",
        "inbuf",
        "index",
        "outbuf",
        "port",
        "role",
        "sent_at",
        "sock",
        "state",
        "tail",
    )

    def __init__(self, sock: socket.socket, port: int, role: str, index: int) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.port = port
        self.role = role
        self.index = index
        self.state = CONNECTING
        self.inbuf = b""
        self.outbuf = bytearray()
        self.frames = FrameReader()
        self.handler: Callable[[Conn, Any], None] | None = None
        self.fast = False  # the handler reads LoadGen.buf itself
        self.hs_stage = 0
        self.count = 0
        self.at_tail = False
        self.tail = b""
        self.sent_at = 0


class LoadGen:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.proto = PROTOCOLS[spec["proto"]]()
        self.strict = bool(spec.get("strict", False))
        self.host = spec.get("host", "127.0.0.1")
        self.ports: list[int] = spec["ports"]
        self.server_pids: list[int] = spec.get("server_pids", [])
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.errors: list[str] = []
        self.closed_unexpectedly = 0
        self.ready = 0
        self.failed = 0
        self.stop = False
        # burst / paced / echo statistics
        self.delivered = 0
        self.decoded_deliveries = 0
        self.sent = 0
        self.sender: Conn | None = None
        self.sender_blocked = False
        self.latencies: list[int] = []
        self.user_latencies: list[int] = []
        self.measure_from_ts = 0
        self.receivers = 0
        self.echo_frame = b""
        self.burst_frame = b""
        self.sio = isinstance(self.proto, SocketIO)
        self.read_interval = 0.0
        self.backlog = 32
        self.buf = bytearray(RECV_SIZE)
        self.view = memoryview(self.buf)

    # -- loop ----------------------------------------------------------------------------------

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self.seq), fn))

    def run_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        epoll = self.epoll
        conns = self.conns
        timers = self.timers
        interval = self.read_interval
        while not condition():
            now = time.monotonic()
            if now >= deadline:
                return False
            wait = deadline - now
            if timers:
                wait = min(wait, max(0.0, timers[0][0] - now))
            for fd, event in epoll.poll(wait, 4096):
                conn = conns.get(fd)
                if conn is None:
                    continue
                if event & select.EPOLLOUT:
                    self.on_writable(conn)
                if (
                    event & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR)
                    and conn.state is not CLOSED
                ):
                    self.on_readable(conn)
            if timers:
                now = time.monotonic()
                while timers and timers[0][0] <= now:
                    heapq.heappop(timers)[2]()
            if interval:
                # Burst: let frames pile up in the socket buffers between sweeps, so that a
                # read takes many deliveries at once (the backlog keeps the server busy).
                spare = interval - (time.monotonic() - now)
                if spare > 0:
                    time.sleep(min(spare, max(0.0, deadline - time.monotonic())))
        return True

    def sleep(self, seconds: float) -> None:
        """Serve the sockets for ``seconds``."""
        self.run_until(lambda: False, seconds)

    # -- connecting ----------------------------------------------------------------------------

    def open(self, port: int, role: str, index: int) -> Conn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if role == "paced":
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        conn = Conn(sock, port, role, index)
        self.conns[conn.fd] = conn
        err = sock.connect_ex((self.host, port))
        if err not in (0, errno.EINPROGRESS):
            self.fail(conn, f"connect: {os.strerror(err)}")
            return conn
        self.epoll.register(conn.fd, select.EPOLLOUT)
        return conn

    def connect_many(self, roles: list[tuple[int, str]], concurrency: int, timeout: float) -> float:
        """Open connections (port, role) with at most ``concurrency`` handshakes in flight."""
        start = time.monotonic()
        todo = list(enumerate(roles))
        todo.reverse()
        base = self.ready + self.failed
        target = base + len(roles)
        opened = 0
        while todo or self.ready + self.failed < target:
            while todo and opened - (self.ready + self.failed - base) < concurrency:
                index, (port, role) = todo.pop()
                self.open(port, role, index)
                opened += 1
            done = self.ready + self.failed
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0 or not self.run_until(
                lambda done=done: self.ready + self.failed > done, remaining
            ):
                self.errors.append(
                    f"connect timeout: {self.ready} ready, {self.failed} failed of {target}"
                )
                break
        return time.monotonic() - start

    def on_writable(self, conn: Conn) -> None:
        if conn.state == CONNECTING:
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail(conn, f"connect: {os.strerror(err)}")
                return
            conn.state = UPGRADING
            self.epoll.modify(conn.fd, select.EPOLLIN)
            request = (
                f"GET {self.proto.path} HTTP/1.1\r\nHost: {self.host}:{conn.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            self.write(conn, request.encode())
            return
        if conn.outbuf:
            try:
                sent = conn.sock.send(conn.outbuf)
            except BlockingIOError:
                return
            except OSError as exc:
                self.fail(conn, f"send: {exc}")
                return
            del conn.outbuf[:sent]
        if not conn.outbuf and conn.state is not CLOSED:
            self.epoll.modify(conn.fd, select.EPOLLIN)

    def write(self, conn: Conn, data: bytes) -> None:
        if conn.state is CLOSED or not data:
            return
        if conn.outbuf:
            conn.outbuf += data
            return
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.fail(conn, f"send: {exc}")
            return
        if sent < len(data):
            conn.outbuf += data[sent:]
            self.epoll.modify(conn.fd, select.EPOLLIN | select.EPOLLOUT)

    def fail(self, conn: Conn, reason: str) -> None:
        was = conn.state
        self.close(conn)
        if was in (CONNECTING, UPGRADING, HANDSHAKING):
            self.failed += 1
        else:
            self.closed_unexpectedly += 1
        if len(self.errors) < 20:
            self.errors.append(f"{conn.role}#{conn.index}: {reason}")

    def close(self, conn: Conn) -> None:
        if conn.state is CLOSED:
            return
        conn.state = CLOSED
        self.conns.pop(conn.fd, None)
        with contextlib.suppress(OSError):
            self.epoll.unregister(conn.fd)
        conn.sock.close()

    # -- reading -------------------------------------------------------------------------------

    def on_readable(self, conn: Conn) -> None:
        # One preallocated buffer for every read: recv(256 KiB) would allocate (mmap) a fresh
        # 256 KiB object per call, which costs more than the read itself.
        view = self.view
        try:
            if conn.role == "paced" and conn.state == READY:
                n, ancillary, _, _ = conn.sock.recvmsg_into([view], 64)
                if n:
                    kernel_ts = 0
                    for level, kind, value in ancillary:
                        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                            sec, nsec = struct.unpack("qq", value[:16])
                            kernel_ts = sec * 1_000_000_000 + nsec
                    self.on_paced(conn, bytes(view[:n]), kernel_ts or time.time_ns())
                    return
            else:
                n = conn.sock.recv_into(view)
        except BlockingIOError:
            return
        except OSError as exc:
            self.fail(conn, f"recv: {exc}")
            return
        if not n:
            self.fail(conn, "server closed the connection")
            return
        if conn.state == READY:
            if conn.fast:
                conn.handler(conn, n)  # type: ignore[misc]
            else:
                conn.handler(conn, bytes(view[:n]))  # type: ignore[misc]
        elif conn.state == UPGRADING:
            self.on_upgrade(conn, bytes(view[:n]))
        else:
            self.on_handshake_data(conn, bytes(view[:n]))

    def on_upgrade(self, conn: Conn, data: bytes) -> None:
        conn.inbuf += data
        end = conn.inbuf.find(b"\r\n\r\n")
        if end < 0:
            return
        head, rest = conn.inbuf[:end], conn.inbuf[end + 4 :]
        conn.inbuf = b""
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            self.fail(conn, f"upgrade refused: {status!r}")
            return
        conn.state = HANDSHAKING
        frame = self.proto.handshake_frame()
        if frame:
            self.write(conn, frame)
        elif isinstance(self.proto, Bare):
            self.become_ready(conn, [], bytes(rest))
            return
        if rest:
            self.on_handshake_data(conn, rest)

    def on_handshake_data(self, conn: Conn, data: bytes) -> None:
        try:
            messages = conn.frames.feed(data)
        except ValueError as exc:
            self.fail(conn, f"bad frame during handshake: {exc}")
            return
        for i, (opcode, payload) in enumerate(messages):
            if opcode == OP_CLOSE:
                self.fail(conn, f"closed during handshake: {payload!r}")
                return
            if opcode in (OP_PING, OP_PONG):
                continue
            if isinstance(self.proto, SocketIO):
                if payload[:1] == b"0":
                    self.write(conn, client_frame(b"40", OP_TEXT))
                elif payload[:2] == b"40":
                    self.become_ready(conn, messages[i + 1 :], bytes(conn.frames.buf))
                    return
                elif payload[:2] == b"44":
                    self.fail(conn, f"connect refused: {payload!r}")
                    return
                continue
            # SignalR: the first RS-terminated record is the handshake response
            split = self.proto.split_handshake(payload)
            if split is None:
                self.fail(conn, "handshake response incomplete in its frame")
                return
            response, rest = split
            if response != b"{}":
                self.fail(conn, f"handshake refused: {response!r}")
                return
            leftovers = ([(opcode, rest)] if rest else []) + messages[i + 1 :]
            self.become_ready(conn, leftovers, bytes(conn.frames.buf))
            return

    def become_ready(self, conn: Conn, messages: list[tuple[int, bytes]], raw: bytes) -> None:
        conn.state = READY
        self.ready += 1
        conn.handler = self.handler_for(conn)
        if self.strict and conn.role == "recv":
            conn.frames = FrameReader()
        conn.fast = conn.handler in (self.on_count, self.on_echo)
        for opcode, payload in messages:  # whatever arrived with the handshake
            self.on_message(conn, opcode, payload)
        if raw:
            if conn.fast:
                self.buf[: len(raw)] = raw
                conn.handler(conn, len(raw))
            else:
                conn.handler(conn, raw)

    def handler_for(self, conn: Conn) -> Callable[[Conn, Any], None]:
        role = conn.role
        if role in ("sender", "sender-paced"):
            return self.on_discard  # its own copy of each broadcast is not counted
        if role == "echo":
            return self.on_echo
        if role == "paced":
            return self.on_discard  # recvmsg path calls on_paced directly
        if role == "recv" and self.strict:
            return self.on_strict
        if role == "recv":
            return self.on_count
        return self.on_discard

    # -- per-role data handlers ----------------------------------------------------------------

    def on_message(self, conn: Conn, opcode: int, payload: bytes) -> None:
        """A whole message outside the fast paths (handshake leftovers, strict mode)."""
        if opcode == OP_CLOSE:
            self.fail(conn, f"server sent a close frame: {payload!r}")
            return
        if opcode == OP_PING:
            self.write(conn, client_frame(payload, OP_PONG))
            return
        if opcode == OP_PONG:
            return
        if conn.role == "recv":
            n = payload.count(MARK)
            conn.count += n
            self.delivered += n
        if self.strict or conn.role == "recv":
            for kind, a, b in self.proto.decode(opcode, payload):
                self.check_message(conn, kind, a, b)
        else:
            for kind, _a, _b in self.proto.decode(opcode, payload):
                if kind == "ping" and isinstance(self.proto, SocketIO):
                    self.write(conn, self.proto.pong())

    def check_message(self, conn: Conn, kind: str, a: Any, b: Any) -> None:
        if kind == "ping":
            if isinstance(self.proto, SocketIO):
                self.write(conn, self.proto.pong())
        elif kind == "inv":
            if a != "send" or len(b) != 1 or not isinstance(b[0], str):
                self.errors.append(f"unexpected invocation {a!r} {b!r:.80}")
            elif conn.role == "recv":
                self.decoded_deliveries += 1
                size = self.spec.get("size")
                if size and len(b[0]) != max(size, 22):
                    self.errors.append(f"payload of {len(b[0])} characters, not {size}")
        elif kind == "close":
            self.errors.append(f"close message: {a!r}")
        elif kind == "comp" and conn.role == "recv":
            self.errors.append("receiver got a completion")

    def on_discard(self, conn: Conn, data: bytes) -> None:
        if isinstance(self.proto, SocketIO) and SIO_PING_FRAME in data:
            self.write(conn, self.proto.pong())

    def on_count(self, conn: Conn, size: int) -> None:
        """Burst receiver: count the markers in the ``size`` bytes just read into the buffer."""
        buf = self.buf
        n = buf.count(MARK, 0, size)
        if conn.at_tail and buf[0] == 0x40:  # a marker split across two reads
            n += 1
        conn.at_tail = buf[size - 1] == 0x40
        if n:
            conn.count += n
            self.delivered += n
            if self.sender_blocked:
                self.pump()
        elif self.sio and buf.find(SIO_PING_FRAME, 0, size) >= 0:
            self.write(conn, self.proto.pong())

    def on_strict(self, conn: Conn, data: bytes) -> None:
        try:
            messages = conn.frames.feed(data)
            for opcode, payload in messages:
                self.on_message(conn, opcode, payload)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            self.fail(conn, f"protocol error: {exc!r}")
            return
        if self.sender_blocked:
            self.pump()

    def on_echo(self, conn: Conn, size: int) -> None:
        buf = self.buf
        n = buf.count(MARK, 0, size)
        if conn.at_tail and buf[0] == 0x40:
            n += 1
        conn.at_tail = buf[size - 1] == 0x40
        if n:
            now = time.perf_counter_ns()
            self.latencies.append(now - conn.sent_at)
            conn.count += n
            self.delivered += n
            conn.sent_at = now
            self.write(conn, self.echo_frame)
        elif self.sio and buf.find(SIO_PING_FRAME, 0, size) >= 0:
            self.write(conn, self.proto.pong())

    def on_paced(self, conn: Conn, data: bytes, kernel_ts: int) -> None:
        if conn.tail:
            data = conn.tail + data
            conn.tail = b""
        now = time.time_ns()
        i = data.find(MARK)
        while i >= 0:
            j = i + 2 + TS_DIGITS
            if j > len(data):
                conn.tail = data[i:]
                break
            sent = int(data[i + 2 : j])
            conn.count += 1
            self.delivered += 1
            if sent >= self.measure_from_ts:
                self.latencies.append(kernel_ts - sent)
                self.user_latencies.append(now - sent)
            i = data.find(MARK, j)
        else:
            if data[-1:] == b"@":
                conn.tail = b"@"
        if isinstance(self.proto, SocketIO) and SIO_PING_FRAME in data:
            self.write(conn, self.proto.pong())

    # -- sending -------------------------------------------------------------------------------

    def pump(self) -> None:
        """Burst sender: fire-and-forget broadcasts, as fast as they are delivered, with at most
        ``backlog`` broadcasts' worth of deliveries outstanding (see ``burst_backlog``)."""
        sender = self.sender
        if sender is None or sender.state is not READY or self.stop:
            self.sender_blocked = False
            return
        backlog = self.backlog * self.receivers
        while self.sent * self.receivers - self.delivered < backlog:
            self.sent += 1
            self.write(sender, self.burst_frame)
        self.sender_blocked = True

    def burst_backlog(self) -> int:
        """Broadcasts allowed in flight: enough that a server which coalesces broadcasts (many
        per write) is never idle waiting for this process, bounded so that no receiver has
        more than ~256 KiB outstanding (servers drop clients whose queue passes 1 MiB) and no
        more than 256,000 deliveries are in flight in all."""
        if self.spec.get("backlog"):
            return int(self.spec["backlog"])
        per_socket = 262144 // (self.spec["size"] + 32)
        return max(32, min(per_socket, 256000 // max(1, self.receivers)))

    def keepalive(self) -> None:
        if self.proto.keepalive:
            frame = self.proto.ping()
            for conn in list(self.conns.values()):
                if conn.state == READY:
                    self.write(conn, frame)
        self.call_later(10.0, self.keepalive)

    # -- measurements --------------------------------------------------------------------------

    def server_cpu_ticks(self) -> int:
        total = 0
        for pid in self.server_pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total

    def server_rss(self) -> int:
        total = 0
        for pid in self.server_pids:
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * PAGE
            except (OSError, IndexError, ValueError):
                pass
        return total

    def window(self) -> dict[str, Any]:
        return {
            "t": time.monotonic(),
            "cpu": time.process_time(),
            "server_ticks": self.server_cpu_ticks(),
            "delivered": self.delivered,
            "sent": self.sent,
            "latencies": len(self.latencies),
        }

    def usage(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        elapsed = b["t"] - a["t"]
        return {
            "elapsed_s": elapsed,
            "loadgen_cpu_pct": 100.0 * (b["cpu"] - a["cpu"]) / elapsed,
            "server_cpu_pct": 100.0 * (b["server_ticks"] - a["server_ticks"]) / CLK_TCK / elapsed,
        }

    # -- scenarios -----------------------------------------------------------------------------

    def receiver_roles(self, role: str, count: int) -> list[tuple[int, str]]:
        ports = self.ports
        return [(ports[i % len(ports)], role) for i in range(count)]

    def connect_all(self, roles: list[tuple[int, str]]) -> dict[str, Any]:
        seconds = self.connect_many(
            roles, self.spec.get("connect_concurrency", 64), self.spec.get("connect_timeout", 120)
        )
        return {"connect_s": seconds, "connected": self.ready, "connect_failed": self.failed}

    def run_burst(self) -> dict[str, Any]:
        clients = self.spec["clients"]
        result = self.connect_all(self.receiver_roles("recv", clients))
        self.receivers = sum(1 for c in self.conns.values() if c.role == "recv")
        result.update(self.connect_all([(self.ports[0], "sender")]))
        self.sender = next((c for c in self.conns.values() if c.role == "sender"), None)
        if self.sender is None or self.sender.state is not READY or not self.receivers:
            return result | {"error": "could not connect"}
        self.keepalive()
        self.backlog = self.burst_backlog()
        self.burst_frame = self.proto.invocation("Broadcast", payload_text(self.spec["size"]), None)
        self.pump()
        self.read_interval = self.spec.get(
            "read_interval", min(0.02, 0.01 * max(1.0, self.receivers / 500))
        )
        self.sleep(self.spec.get("warmup", 1.0))
        a = self.window()
        self.sleep(self.spec.get("duration", 3.0))
        b = self.window()
        self.stop = True
        self.read_interval = 0.0
        delivered = b["delivered"] - a["delivered"]
        result.update(self.usage(a, b))
        result.update(
            {
                "deliveries": delivered,
                "deliveries_per_s": delivered / result["elapsed_s"],
                # per second of server CPU: comparable even when the server did not get a
                # whole core (other work on the machine)
                "deliveries_per_cpu_s": delivered
                / max(1e-9, result["server_cpu_pct"] / 100 * result["elapsed_s"]),
                "broadcasts_per_s": (b["sent"] - a["sent"]) / result["elapsed_s"],
                "receivers": self.receivers,
                "backlog_broadcasts": self.backlog,
            }
        )
        if self.strict:
            # let everything in flight arrive, then compare both ways of counting
            self.run_until(lambda: self.delivered >= self.sent * self.receivers, 5.0)
            result["verified"] = (
                self.decoded_deliveries == self.delivered
                and self.delivered == self.sent * self.receivers
            )
            result["decoded_deliveries"] = self.decoded_deliveries
            result["marker_deliveries"] = self.delivered
            result["expected_deliveries"] = self.sent * self.receivers
        return result

    def run_paced(self) -> dict[str, Any]:
        clients = self.spec["clients"]
        result = self.connect_all(self.receiver_roles("paced", clients))
        self.receivers = sum(1 for c in self.conns.values() if c.role == "paced")
        result.update(self.connect_all([(self.ports[0], "sender-paced")]))
        sender = next((c for c in self.conns.values() if c.role == "sender-paced"), None)
        if sender is None or sender.state is not READY or not self.receivers:
            return result | {"error": "could not connect"}
        self.keepalive()
        rate = self.spec.get("rate", 20)
        size = self.spec["size"]
        warmup = self.spec.get("warmup", 0.5)
        duration = self.spec.get("duration", 5.0)
        start = time.monotonic()
        end_at = start + warmup + duration
        self.measure_from_ts = time.time_ns() + int(warmup * 1e9)
        counts = {"sent": 0, "measured": 0}

        def tick() -> None:
            now = time.monotonic()
            if now >= end_at or sender.state is not READY:
                return
            ts = time.time_ns()
            counts["sent"] += 1
            if ts >= self.measure_from_ts:
                counts["measured"] += 1
            self.write(sender, self.proto.invocation("Broadcast", payload_text(size, ts), None))
            # schedule on the ideal grid so pacing does not drift
            k = counts["sent"]
            self.call_later(max(0.0, start + k / rate - time.monotonic()), tick)

        tick()
        self.sleep(warmup)
        a = self.window()
        self.sleep(end_at - time.monotonic())
        b = self.window()
        expected = counts["measured"] * self.receivers
        self.run_until(lambda: len(self.latencies) >= expected, 5.0)
        result.update(self.usage(a, b))
        result.update(
            {
                "broadcasts": counts["measured"],
                "receivers": self.receivers,
                "expected": expected,
                "received": len(self.latencies),
            }
        )
        result.update(percentiles("latency", self.latencies))
        result.update(percentiles("app_latency", self.user_latencies))
        return result

    def run_echo(self) -> dict[str, Any]:
        clients = self.spec["clients"]
        size = self.spec.get("size", 32)
        self.echo_frame = self.proto.invocation("Echo", payload_text(size), "1")
        result = self.connect_all(self.receiver_roles("echo", clients))
        echoers = [c for c in self.conns.values() if c.role == "echo" and c.state == READY]
        if not echoers:
            return result | {"error": "could not connect"}
        self.keepalive()
        for conn in echoers:
            conn.sent_at = time.perf_counter_ns()
            self.write(conn, self.echo_frame)
        self.sleep(self.spec.get("warmup", 1.0))
        a = self.window()
        self.sleep(self.spec.get("duration", 3.0))
        b = self.window()
        calls = b["delivered"] - a["delivered"]
        result.update(self.usage(a, b))
        result.update(
            {
                "calls": calls,
                "calls_per_s": calls / result["elapsed_s"],
                "calls_per_cpu_s": calls
                / max(1e-9, result["server_cpu_pct"] / 100 * result["elapsed_s"]),
            }
        )
        result.update(percentiles("latency", self.latencies[a["latencies"] : b["latencies"]]))
        return result

    def run_idle(self) -> dict[str, Any]:
        clients = self.spec["clients"]
        base_clients = min(self.spec.get("base_clients", 20), clients)
        result = self.connect_all(self.receiver_roles("idle", base_clients))
        self.keepalive()
        self.sleep(self.spec.get("settle", 3.0) / 3)
        rss_base = self.server_rss()
        more = self.connect_all(self.receiver_roles("idle", clients - base_clients))
        result["connect_s"] += more["connect_s"]
        result["connected"] = more["connected"]
        result["connect_failed"] = more["connect_failed"]
        self.sleep(self.spec.get("settle", 3.0))
        rss_full = self.server_rss()
        alive = sum(1 for c in self.conns.values() if c.state == READY)
        added = max(1, alive - base_clients)
        result.update(
            {
                "alive": alive,
                "rss_base_bytes": rss_base,
                "rss_bytes": rss_full,
                "rss_per_conn_kib": (rss_full - rss_base) / added / 1024,
                "connections_per_s": result["connected"] / max(result["connect_s"], 1e-9),
            }
        )
        return result

    def run(self) -> dict[str, Any]:
        mode = self.spec["mode"]
        start = time.monotonic()
        result = getattr(self, f"run_{mode}")()
        result["wall_s"] = time.monotonic() - start
        result["closed_unexpectedly"] = self.closed_unexpectedly
        result["errors"] = self.errors[:20]
        if getattr(self.proto, "binary_frames", 0) and self.proto.opcode == OP_TEXT:
            result["notes"] = [f"{self.proto.binary_frames} JSON messages came in binary frames"]
        self.stop = True
        for conn in list(self.conns.values()):
            self.close(conn)
        return result


def percentiles(prefix: str, samples: list[int]) -> dict[str, Any]:
    if not samples:
        return {f"{prefix}_samples": 0}
    ordered = sorted(samples)
    n = len(ordered)

    def at(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1e6  # ns -> ms

    return {
        f"{prefix}_samples": n,
        f"{prefix}_p50_ms": at(0.50),
        f"{prefix}_p90_ms": at(0.90),
        f"{prefix}_p99_ms": at(0.99),
        f"{prefix}_max_ms": ordered[-1] / 1e6,
    }


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    spec = json.loads(sys.argv[1])
    raise_fd_limit()
    result = LoadGen(spec).run()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
