"""Experiment: a hub method that sends to its caller and then returns, with and without
TCP_NODELAY on the server's sockets.

The server writes two small frames back to back (the broadcast the caller is part of, then the
Completion). Without TCP_NODELAY, Nagle's algorithm holds the second until the client ACKs the
first, and the client delays that ACK (up to 40 ms on Linux), so every such call takes ~40 ms.

    python -m bench.nagle [--src path/to/src]
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time

from bench.run import EXTRA_PATH, child_env, free_port, wait_port


def frame(payload: bytes) -> bytes:
    return bytes((0x81, 0x80 | len(payload))) + b"\0\0\0\0" + payload


def round_trips(port: int, calls: int = 60) -> list[float]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(
        b"GET /hub HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    sock.sendall(frame(b'{"protocol":"json","version":1}\x1e'))
    time.sleep(0.2)
    sock.recv(65536)
    times = []
    for i in range(calls):
        call = {"type": 1, "invocationId": str(i), "target": "Broadcast", "arguments": ["hi"]}
        start = time.perf_counter()
        sock.sendall(frame(json.dumps(call).encode() + b"\x1e"))
        data = b""
        while f'"invocationId":"{i}"'.encode() not in data:
            data += sock.recv(65536)
        times.append((time.perf_counter() - start) * 1000)
    sock.close()
    return times[10:]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--src":
        EXTRA_PATH.append(sys.argv[2])
    for nodelay in (False, True):
        port = free_port()
        argv = [sys.executable, "-m", "bench.servers.fsr_app", "--port", str(port)]
        if nodelay:
            argv.append("--nodelay")
        server = subprocess.Popen(argv, env=child_env(), stderr=subprocess.DEVNULL)
        try:
            wait_port(port, server)
            times = round_trips(port)
        finally:
            server.terminate()
            server.wait()
        print(
            f"TCP_NODELAY {'on ' if nodelay else 'off'}: Broadcast round trip "
            f"median {statistics.median(times):.2f} ms, max {max(times):.2f} ms"
        )


if __name__ == "__main__":
    main()
