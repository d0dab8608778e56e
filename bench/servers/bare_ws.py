"""The ceiling: a bare gevent WebSocket server that writes pre-encoded frames.

No framework, no WSGI, no hub protocol: a gevent StreamServer, a hand-written upgrade, a
minimal frame parser, and a broadcast that encodes its frame once and writes the same bytes to
every socket with a non-blocking send (only what the kernel does not take is queued, for a
writer greenlet, as flask-signalr does). Whatever a Python server on gevent can do, this is
about as good as it gets; the gap between it and a framework is the framework's cost.

Protocol (text frames): ``B<payload>`` broadcast ``<payload>`` to every connection, then ack
the sender with ``A``; ``b<payload>`` the same without the ack; ``E<payload>`` echo.

``--batch``: the broadcasts found in one read from the sender are written to each socket with
one ``send`` (their frames concatenated), instead of one ``send`` per broadcast per socket:
what coalescing is worth when the kernel's per-``send`` cost dominates.
"""

from gevent import monkey

monkey.patch_all()

import base64  # noqa: E402
import hashlib  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
from collections import deque  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

from bench.servers._common import arguments, raise_fd_limit  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"


def encode_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


ACK = encode_frame(b"A")


class Peer:
    __slots__ = ("backlog", "raw", "sock")

    def __init__(self, sock):
        self.sock = sock
        self.raw = sock._sock  # the real non-blocking socket under gevent's wrapper
        self.backlog = None

    def send(self, data: bytes) -> None:
        if self.backlog is not None:
            self.backlog.append(data)
            return
        try:
            sent = self.raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return
        if sent < len(data):
            self.backlog = deque([data[sent:]])
            gevent.spawn(self._drain)

    def _drain(self) -> None:
        try:
            while self.backlog:
                chunks = list(self.backlog)
                self.backlog.clear()
                self.sock.sendall(b"".join(chunks))
        except OSError:
            pass
        finally:
            self.backlog = None


peers: dict[Peer, None] = {}


def upgrade(sock) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    key = b""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    sock.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    return rest


BATCH = False


def handle(sock, _address) -> None:
    rest = upgrade(sock)
    if rest is None:
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer = Peer(sock)
    peers[peer] = None
    buf = bytearray(rest)
    batch: list[bytes] = []
    acks = 0
    try:
        while True:
            pos = 0
            n = len(buf)
            while n - pos >= 6:
                b0, b1 = buf[pos], buf[pos + 1]
                length = b1 & 0x7F
                header = 2
                if length == 126:
                    if n - pos < 8:
                        break
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                    header = 4
                elif length == 127:
                    if n - pos < 14:
                        break
                    length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                    header = 10
                mask = bytes(buf[pos + header : pos + header + 4])
                header += 4
                end = pos + header + length
                if end > n:
                    break
                payload = bytes(buf[pos + header : end])
                if mask != b"\0\0\0\0":
                    key = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
                    payload = (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")
                pos = end
                opcode = b0 & 0x0F
                if opcode == 0x8:  # close: answer and end
                    peer.send(encode_frame(payload[:2], 0x8))
                    return
                if opcode == 0x9:
                    peer.send(encode_frame(payload, 0xA))
                    continue
                kind = payload[:1]
                if kind == b"B" or kind == b"b":
                    frame = encode_frame(payload[1:])
                    if BATCH:
                        batch.append(frame)
                        acks += kind == b"B"
                        continue
                    for other in tuple(peers):
                        other.send(frame)
                    if kind == b"B":
                        peer.send(ACK)
                elif kind == b"E":
                    peer.send(encode_frame(payload))
            if batch:
                blob = b"".join(batch)
                for other in tuple(peers):
                    other.send(blob)
                if acks:
                    peer.send(ACK * acks)
                batch.clear()
                acks = 0
            if pos:
                del buf[:pos]
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
    except OSError:
        return
    finally:
        peers.pop(peer, None)


def main() -> None:
    global BATCH
    args = arguments(__doc__)
    BATCH = args.batch
    raise_fd_limit()
    server = StreamServer((args.host, args.port), handle)
    server.serve_forever()


if __name__ == "__main__":
    main()
