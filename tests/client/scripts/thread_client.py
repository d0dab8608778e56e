"""The Python client in a plain-threads process (no gevent monkey-patching).

Usage: thread_client.py HUB_URL PROTOCOL. Prints one JSON object with what it observed.
"""

from __future__ import annotations

import json
import queue
import socket
import sys
import threading
import time
from typing import Any

from flask_signalr import HubException
from flask_signalr.client import HubConnectionBuilder

THREADS = 8
CALLS = 40


def main(url: str, protocol: str) -> dict[str, Any]:
    report: dict[str, Any] = {
        "patched": socket.socket.__module__ != "socket"
        or threading.Thread.__module__ != "threading",
    }
    connection = HubConnectionBuilder().with_url(url).with_hub_protocol(protocol).build()
    received: queue.Queue[tuple[str, int]] = queue.Queue()
    handler_threads: set[int] = set()

    def on_receive(kind: str, message: str) -> None:
        handler_threads.add(threading.get_ident())
        received.put((message, threading.get_ident()))

    connection.on("Receive", on_receive)
    connection.on("Ask", lambda question: f"{question}?")
    connection.start()
    report["add"] = connection.invoke("Add", 2, 3)
    try:
        connection.invoke("ThrowHubException", "from threads")
    except HubException as error:
        report["error"] = str(error)
    report["stream"] = list(connection.stream("Counter", 4, 0))
    report["upload"] = connection.invoke("UploadSum", iter(range(10)))
    report["client_result"] = connection.invoke("AskCaller", "really")

    callers: set[int] = set()
    failures: list[str] = []

    def invoker(number: int) -> None:
        callers.add(threading.get_ident())
        for call in range(CALLS):
            payload = {"thread": number, "call": call, "pad": "x" * (call * 97)}
            if connection.invoke("Echo", payload) != payload:
                failures.append(f"{number}/{call}")
            connection.send("SendCaller", f"{number}/{call}")

    started = time.perf_counter()
    workers = [threading.Thread(target=invoker, args=(n,)) for n in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    report["invoke_round_trips_per_s"] = round(THREADS * CALLS / (time.perf_counter() - started))
    messages = sorted(received.get(timeout=10)[0] for _ in range(THREADS * CALLS))
    expected = sorted(f"{n}/{c}" for n in range(THREADS) for c in range(CALLS))
    report["echo_failures"] = failures
    report["all_sends_arrived_once"] = messages == expected
    callers.add(threading.get_ident())
    report["handlers_on_caller_threads"] = bool(handler_threads & callers)
    report["handler_threads"] = len(handler_threads)

    started = time.perf_counter()
    for number in range(300):
        connection.invoke("Add", number, 1)
    report["sequential_round_trips_per_s"] = round(300 / (time.perf_counter() - started))
    connection.stop()
    report["state"] = connection.state.value
    workers = [thread for thread in threading.enumerate() if thread.name.startswith("signalr")]
    for worker in workers:
        worker.join(timeout=5)  # each ends on its own once the connection is closed
    report["threads_left"] = sorted(worker.name for worker in workers if worker.is_alive())
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
