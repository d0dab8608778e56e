"""A client that stops reading costs the others nothing and is cut off."""

from __future__ import annotations

import socket
from collections.abc import Callable

import gevent
import requests
import websocket

from support.js import JsDriver
from support.server import RunningServer

RS = "\x1e"


def open_hub(server: RunningServer, receive_buffer: int | None = None) -> websocket.WebSocket:
    token = requests.post(server.url + "/hubs/test/negotiate?negotiateVersion=1").json()
    options = [(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)] if receive_buffer else []
    ws = websocket.create_connection(
        f"{server.ws_url}/hubs/test?id={token['connectionToken']}", sockopt=options, timeout=10
    )
    ws.send('{"protocol":"json","version":1}' + RS)
    assert ws.recv() == "{}" + RS
    return ws


def test_slow_client_is_dropped_and_others_are_served(
    start_server: Callable[..., RunningServer], js: JsDriver
) -> None:
    server = start_server(maximum_outbound_buffer_size=256 * 1024)
    slow = open_hub(server, receive_buffer=4096)  # handshake done, then it never reads again
    fast = js.connect(server.hub_url("/hubs/test"), handlers=("Big",))
    count, size = 100, 64 * 1024  # 6.4 MB: far beyond socket buffers and the 256 KiB limit
    started = gevent.get_hub().loop.now()
    for index in range(count):
        fast.invoke("BroadcastBig", index, size)
    received = [fast.next_message("Big")[0] for _ in range(count)]
    elapsed = gevent.get_hub().loop.now() - started
    assert received == list(range(count))
    assert elapsed < 5, f"the fast client waited {elapsed:.1f}s behind the slow one"
    events = server.app.config["TEST_EVENTS"]
    with gevent.Timeout(5):
        while not any(event[0] == "disconnected" for event in events):
            gevent.sleep(0.01)
    (dropped,) = [event for event in events if event[0] == "disconnected"]
    assert dropped[2] == "ConnectionAbortedError"
    assert server.endpoint("/hubs/test").manager.connection_count() == 1
    slow.close()
