"""Several server processes sharing clients through Redis, driven by the official JS client."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import requests
import websocket

from support.js import JsConnection, JsDriver, JsError
from support.redis_server import RedisServer
from support.waiting import free_port

SUPPORT = Path(__file__).parent.parent / "support"
RS = "\x1e"


class Node:
    """A server process of the cluster."""

    def __init__(self, command: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            command,
            cwd=SUPPORT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with gevent.Timeout(20, AssertionError(f"node {self.url} never came up")):
            while True:
                try:
                    requests.post(f"{self.url}/hubs/test/negotiate", timeout=1)
                    return
                except requests.ConnectionError:
                    gevent.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def cluster(redis_server: RedisServer) -> Iterator[tuple[Node, Node]]:
    nodes = []
    for _ in range(2):
        port = free_port()
        nodes.append(Node([sys.executable, "node_app.py", str(port), redis_server.url], port))
    yield nodes[0], nodes[1]
    for node in nodes:
        node.stop()


@pytest.fixture
def connect(js: JsDriver) -> Iterator[Callable[..., JsConnection]]:
    opened: list[JsConnection] = []

    def open_on(node: Node, *handlers: str, **options: Any) -> JsConnection:
        connection = js.connect(f"{node.url}/hubs/test", handlers=handlers, **options)
        opened.append(connection)
        return connection

    yield open_on
    for connection in opened:
        with contextlib.suppress(JsError):  # already closed by the test
            connection.stop()


def until_marker(client: JsConnection) -> list[list[Any]]:
    got = []
    while (args := client.next_message("Receive")) != ["all", "marker"]:
        got.append(args)
    return got


def check(
    sender: JsConnection, clients: dict[str, JsConnection], expected: set[str], message: list[Any]
) -> None:
    sender.invoke("SendAll", "marker")
    for name, client in clients.items():
        assert until_marker(client) == ([message] if name in expected else []), name


def test_every_target_across_nodes(
    cluster: tuple[Node, Node], connect: Callable[..., JsConnection]
) -> None:
    one, two = cluster
    clients = {
        "a": connect(one, "Receive", accessToken="token-kevin"),
        "b": connect(two, "Receive", accessToken="token-kevin"),
        "c": connect(two, "Receive", accessToken="token-bob"),
    }
    a, b, c = clients["a"], clients["b"], clients["c"]
    a.invoke("SendAll", "x")
    check(a, clients, {"a", "b", "c"}, ["all", "x"])
    a.invoke("SendOthers", "x")
    check(a, clients, {"b", "c"}, ["others", "x"])
    a.invoke("SendAllExcept", [c.connection_id], "x")
    check(a, clients, {"a", "b"}, ["all_except", "x"])
    a.invoke("SendClient", c.connection_id, "x")
    check(a, clients, {"c"}, ["client", "x"])
    a.invoke("SendClients", [a.connection_id, c.connection_id], "x")
    check(a, clients, {"a", "c"}, ["clients", "x"])
    c.invoke("SendUser", "kevin", "x")  # kevin has a connection on each node
    check(a, clients, {"a", "b"}, ["user", "x"])
    a.invoke("SendUsers", ["bob", "kevin"], "x")
    check(a, clients, {"a", "b", "c"}, ["users", "x"])
    a.invoke("Join", "g")
    b.invoke("Join", "g")
    c.invoke("Join", "h")
    b.invoke("Join", "h")
    c.invoke("SendGroup", "g", "x")
    check(a, clients, {"a", "b"}, ["group", "x"])
    a.invoke("SendGroups", ["g", "h"], "x")  # b is in both: one copy
    check(a, clients, {"a", "b", "c"}, ["groups", "x"])
    c.invoke("SendGroupExcept", "g", [a.connection_id], "x")
    check(a, clients, {"b"}, ["group_except", "x"])
    a.invoke("SendOthersInGroup", "g", "x")
    check(a, clients, {"b"}, ["others_in_group", "x"])


def test_remote_groups_results_and_views(
    cluster: tuple[Node, Node], connect: Callable[..., JsConnection]
) -> None:
    one, two = cluster
    a = connect(one, "Receive", "FromView")
    b = connect(two, "Receive", "FromView")
    a.invoke("AddToGroup", b.connection_id, "remote")  # b lives on the other node
    a.invoke("SendGroup", "remote", "x")
    assert b.next_message("Receive") == ["group", "x"]
    b.on("Ask", results={"Ask": {"answer": 42}})
    assert a.invoke("AskClient", b.connection_id, "q", 5) == {"result": {"answer": 42}}
    requests.post(f"{two.url}/api/broadcast", json={"message": "from node two"}).raise_for_status()
    assert a.next_message("FromView") == ["from node two"]
    assert b.next_message("FromView") == ["from node two"]


def test_token_from_one_node_opens_on_another(cluster: tuple[Node, Node]) -> None:
    one, two = cluster
    negotiated = requests.post(f"{one.url}/hubs/test/negotiate?negotiateVersion=1").json()
    token = negotiated["connectionToken"]
    socket = websocket.create_connection(
        f"ws://127.0.0.1:{two.port}/hubs/test?id={token}", timeout=5
    )
    socket.send('{"protocol":"json","version":1}' + RS)
    assert socket.recv() == "{}" + RS
    socket.send(
        json.dumps({"type": 1, "invocationId": "1", "target": "Whoami", "arguments": []}) + RS
    )
    answer = json.loads(socket.recv().split(RS)[0])
    assert answer["result"]["connectionId"] == negotiated["connectionId"]
    with pytest.raises(websocket.WebSocketBadStatusException) as reused:
        websocket.create_connection(f"ws://127.0.0.1:{one.port}/hubs/test?id={token}", timeout=5)
    assert reused.value.status_code == 404  # one token opens one connection in the cluster
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{two.port}/hubs/test?id={forged}", timeout=5)
    assert refused.value.status_code == 404
    socket.close()


def test_redis_restart_under_live_clients(
    cluster: tuple[Node, Node], connect: Callable[..., JsConnection], redis_server: RedisServer
) -> None:
    one, two = cluster
    a = connect(one, "Receive")
    b = connect(two, "Receive")
    redis_server.kill()
    a.invoke("SendAll", "local")  # Redis is down: the sender's node still serves its clients
    assert a.next_message("Receive") == ["all", "local"]
    assert a.invoke("Add", 1, 1) == 2
    redis_server.start()
    with gevent.Timeout(10, AssertionError("cross-node delivery did not come back")):
        while True:
            a.invoke("SendAll", "again")
            try:
                if b.next_message("Receive", timeout=0.3) == ["all", "again"]:
                    break
            except TimeoutError:
                continue


def test_external_publisher_without_gevent(
    cluster: tuple[Node, Node], connect: Callable[..., JsConnection], redis_server: RedisServer
) -> None:
    one, two = cluster
    a = connect(one, "FromScript")
    b = connect(two, "FromScript")
    script = f"""
from gevent import monkey
from flask_signalr import HubContext
assert not monkey.is_anything_patched()
context = HubContext.from_redis({redis_server.url!r}, hub="TestHub")
context.clients.all.send("FromScript", "everyone")
context.groups.add({b.connection_id!r}, "scripted")
context.clients.group("scripted").send("FromScript", "group")
context.clients.client({a.connection_id!r}).send("FromScript", "direct")
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert a.next_message("FromScript") == ["everyone"]
    assert a.next_message("FromScript") == ["direct"]
    assert b.next_message("FromScript") == ["everyone"]
    assert b.next_message("FromScript") == ["group"]


def test_two_gunicorn_workers_without_sticky_sessions(
    redis_server: RedisServer, connect: Callable[..., JsConnection]
) -> None:
    port = free_port()
    node = Node(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "gevent",
            "-w",
            "2",
            "-c",
            "python:flask_signalr.gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "node_app:app",
        ],
        port,
        env={"REDIS_URL": redis_server.url},
    )
    try:
        # Negotiate and WebSocket requests land on either worker: with 16 clients, some
        # certainly open their socket on the worker that did not negotiate.
        clients = [connect(node, "Receive") for _ in range(16)]
        clients[0].invoke("SendAll", "hello")
        for client in clients:
            assert client.next_message("Receive") == ["all", "hello"]
    finally:
        node.stop()


def test_singleton_service_runs_once_and_moves_when_its_node_dies(
    cluster: tuple[Node, Node], connect: Callable[..., JsConnection]
) -> None:
    nodes = {str(node.port): node for node in cluster}
    watchers = {name: connect(node, "Heartbeat") for name, node in nodes.items()}
    senders = {watcher.next_message("Heartbeat")[0] for watcher in watchers.values()}
    for _ in range(5):
        senders |= {watcher.next_message("Heartbeat")[0] for watcher in watchers.values()}
    assert len(senders) == 1, f"the singleton ran on several nodes: {senders}"
    (holder,) = senders
    survivor = next(name for name in nodes if name != holder)
    nodes[holder].process.kill()  # dies without releasing its lease
    with gevent.Timeout(5, AssertionError("no node took the singleton over within 5 s")):
        while watchers[survivor].next_message("Heartbeat")[0] != survivor:
            pass
