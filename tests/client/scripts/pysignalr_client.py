"""pysignalr (asyncio) against our server. Usage: pysignalr_client.py HUB_URL PROTOCOL.

Prints one JSON object with what the third-party client observed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol

TIMEOUT = 10


async def main(url: str, protocol_name: str) -> dict[str, Any]:
    protocol = MessagepackProtocol() if protocol_name == "messagepack" else JSONProtocol()
    client = SignalRClient(url, protocol=protocol)
    loop = asyncio.get_running_loop()
    opened = asyncio.Event()
    broadcast: asyncio.Future[Any] = loop.create_future()
    completions: asyncio.Queue[CompletionMessage] = asyncio.Queue()
    errors: asyncio.Queue[CompletionMessage] = asyncio.Queue()
    stream_done: asyncio.Future[None] = loop.create_future()
    items: list[Any] = []

    async def on_open() -> None:
        opened.set()

    async def on_receive(arguments: list[Any]) -> None:
        if not broadcast.done():
            broadcast.set_result(arguments)

    async def on_completion(message: CompletionMessage) -> None:
        await completions.put(message)

    async def on_error(message: CompletionMessage) -> None:
        await errors.put(message)

    async def ignore(message: CompletionMessage) -> None:
        pass

    async def on_item(item: Any) -> None:
        items.append(item)

    async def on_stream_complete(message: Any) -> None:
        stream_done.set_result(None)

    async def on_ask(arguments: list[Any]) -> str:
        return f"pysignalr says {arguments[0]}"

    client.on_open(on_open)
    client.on("Receive", on_receive)
    client.on("Ask", on_ask)
    client.on_error(on_error)
    runner = asyncio.create_task(client.run())
    report: dict[str, Any] = {}
    try:
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        await client.send("Add", [2, 3], on_invocation=on_completion)
        report["add"] = (await asyncio.wait_for(completions.get(), TIMEOUT)).result
        # pysignalr reports an error to on_error (and to on_invocation as well).
        await client.send("ThrowHubException", ["pysignalr"], on_invocation=ignore)
        report["error"] = (await asyncio.wait_for(errors.get(), TIMEOUT)).error
        await client.send("SendAll", ["hello pysignalr"])
        report["broadcast"] = await asyncio.wait_for(broadcast, TIMEOUT)
        await client.stream("Counter", [4, 0], on_next=on_item, on_complete=on_stream_complete)
        await asyncio.wait_for(stream_done, TIMEOUT)
        report["stream"] = items
        await client.send("AskCaller", ["hi"], on_invocation=on_completion)
        report["client_result"] = (await asyncio.wait_for(completions.get(), TIMEOUT)).result
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
