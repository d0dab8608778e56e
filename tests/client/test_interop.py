"""Third-party Python clients against our server: pysignalr (asyncio) and signalrcore (threads)."""

from __future__ import annotations

from collections.abc import Callable

from client.helpers import run_script

from support.server import RunningServer


def test_pysignalr(server: RunningServer, protocol: str) -> None:
    (report,) = run_script("pysignalr_client.py", server.hub_url("/hubs/test"), protocol)
    assert report == {
        "add": 5,
        "error": (
            "An unexpected error occurred invoking 'ThrowHubException' on the server. "
            "HubException: pysignalr"
        ),
        "broadcast": ["all", "hello pysignalr"],
        "stream": [0, 1, 2, 3],
        "client_result": "pysignalr says hi",
    }


def test_signalrcore(start_server: Callable[..., RunningServer], protocol: str) -> None:
    # signalrcore's stop() closes its socket and joins its reader thread, which stays blocked in
    # recv() until the next frame arrives: frequent server pings keep that wait short.
    server = start_server(keep_alive_interval=0.2)
    (report,) = run_script("signalrcore_client.py", server.hub_url("/hubs/test"), protocol)
    assert report == {
        "add": 5,
        "error": (
            "An unexpected error occurred invoking 'ThrowHubException' on the server. "
            "HubException: signalrcore"
        ),
        "broadcast": ["all", "hello signalrcore"],
        "stream": [0, 1, 2, 3],
    }
