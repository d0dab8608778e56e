"""aiosignalr under test (aiohttp, the default asyncio loop): the same hub shape."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiosignalr.server import Hub, SignalRServer

from bench.servers._common import arguments, raise_fd_limit


class BenchHub(Hub):
    async def broadcast(self, payload: str) -> None:
        await self.clients.all_.send("send", payload)

    async def echo(self, x: str) -> str:
        return x


async def serve(host: str, port: int) -> None:
    server = SignalRServer(BenchHub)
    app = server.create_application(path="/hub")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    await asyncio.Event().wait()


def main() -> None:
    args = arguments(__doc__)
    raise_fd_limit()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
