"""Serving for real: `signalr.run` and gunicorn's gevent worker, with hosted services."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest

from support.js import JsDriver, JsError
from support.waiting import free_port

SUPPORT = Path(__file__).parent / "support"


def start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=SUPPORT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def connect_when_up(js: JsDriver, url: str) -> object:
    with gevent.Timeout(20, AssertionError(f"{url} never came up")):
        while True:
            try:
                return js.connect(url, handlers=("tick",))
            except JsError:
                gevent.sleep(0.1)


@pytest.fixture(
    params=[
        pytest.param("run", id="signalr.run"),
        pytest.param("gunicorn", id="gunicorn-gevent"),
    ]
)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    if request.param == "run":
        command = [sys.executable, "run_app.py", str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "gevent",
            "-w",
            "1",
            "-c",
            "python:flask_signalr.gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "10",
            "run_app:app",
        ]
    process = start(command)
    yield process, port
    if process.poll() is None:
        process.kill()
    process.wait()


def test_serves_hubs_and_services_then_stops_cleanly(
    served: tuple[subprocess.Popen[str], int], js: JsDriver
) -> None:
    process, port = served
    client = connect_when_up(js, f"http://127.0.0.1:{port}/hubs/clock")
    assert client.invoke("Add", 20, 22) == 42  # type: ignore[attr-defined]
    client.next_message("tick")  # type: ignore[attr-defined]  # the hosted service broadcasts
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert "stopped" in lines, output
    assert "tick" not in lines[lines.index("stopped") :], "a tick ran after stop()"
    client.next_event("close")  # type: ignore[attr-defined]  # told to go away, not cut off
