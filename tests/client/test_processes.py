"""The client in a plain-threads process and in this gevent process; the test client unpatched."""

from __future__ import annotations

from collections.abc import Callable

import gevent
import greenlet

from client.helpers import Inbox, run_script
from flask_signalr.client import HubConnection

from support.server import RunningServer

Make = Callable[..., HubConnection]


def test_thread_only_process(server: RunningServer, protocol: str) -> None:
    (report,) = run_script("thread_client.py", server.hub_url("/hubs/test"), protocol)
    assert report["patched"] is False
    assert report["add"] == 5
    assert report["error"] == (
        "An unexpected error occurred invoking 'ThrowHubException' on the server. "
        "HubException: from threads"
    )
    assert report["stream"] == [0, 1, 2, 3]
    assert report["upload"] == 45
    assert report["client_result"] == "really?"
    assert report["echo_failures"] == []
    assert report["all_sends_arrived_once"] is True  # send() from 8 threads at once
    assert report["handlers_on_caller_threads"] is False
    assert report["handler_threads"] == 1
    assert report["state"] == "Disconnected"
    assert report["threads_left"] == []  # stop() leaves no worker behind


def test_gevent_process(make_client: Make) -> None:
    """This test process is monkey-patched: the client's workers are greenlets."""
    connection = make_client()
    inbox = Inbox()
    connection.on("Receive", lambda kind, message: inbox.put(gevent.getcurrent()))
    results = gevent.joinall(
        [gevent.spawn(connection.invoke, "Add", number, 1) for number in range(50)],
        raise_error=True,
    )
    assert sorted(greenlet.value for greenlet in results) == list(range(1, 51))
    connection.send("SendCaller", "hi")
    worker = inbox.get()
    assert isinstance(worker, greenlet.greenlet)  # threading is patched: workers are greenlets
    assert worker is not gevent.getcurrent()


def test_test_client_without_monkey_patching() -> None:
    (report,) = run_script("unpatched_test_client.py")
    assert report == {
        "patched": False,
        "add": 5,
        "received": [["Receive", ["caller", "hi"]]],
        "stream": [0, 1, 2],
        "whoami": "kevin",
    }
