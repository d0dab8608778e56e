"""signalrcore (threads) against our server. Usage: signalrcore_client.py HUB_URL PROTOCOL.

Prints one JSON object with what the third-party client observed.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from typing import Any

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.protocol.messagepack_protocol import MessagePackHubProtocol

TIMEOUT = 10


def main(url: str, protocol_name: str) -> dict[str, Any]:
    protocol = MessagePackHubProtocol() if protocol_name == "messagepack" else JsonHubProtocol()
    connection = (
        HubConnectionBuilder()
        .with_url(url)
        .with_hub_protocol(protocol)
        .configure_logging(logging.CRITICAL)
        .build()
    )
    opened = threading.Event()
    broadcasts: queue.Queue[Any] = queue.Queue()
    results: queue.Queue[Any] = queue.Queue()
    errors: queue.Queue[Any] = queue.Queue()
    items: list[Any] = []
    stream_done = threading.Event()
    connection.on_open(opened.set)
    connection.on_error(lambda message: errors.put(message.error))
    connection.on("Receive", broadcasts.put)
    connection.start()
    report: dict[str, Any] = {}
    try:
        assert opened.wait(TIMEOUT), "signalrcore did not open"
        connection.invoke("Add", [2, 3], on_invocation=lambda message: results.put(message.result))
        report["add"] = results.get(timeout=TIMEOUT)
        connection.invoke("ThrowHubException", ["signalrcore"])
        report["error"] = errors.get(timeout=TIMEOUT)
        connection.invoke("SendAll", ["hello signalrcore"])
        report["broadcast"] = broadcasts.get(timeout=TIMEOUT)
        connection.stream("Counter", [4, 0]).subscribe(
            {
                "next": items.append,
                "complete": lambda message: stream_done.set(),
                "error": lambda message: stream_done.set(),
            }
        )
        assert stream_done.wait(TIMEOUT), "the stream did not complete"
        report["stream"] = items
    finally:
        connection.stop()
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
