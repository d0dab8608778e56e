"""Run a Flask app with SignalR on a real gevent WSGI server on a free loopback port."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gevent.pywsgi import WSGIServer

from flask_signalr import SignalR


class RunningServer:
    """A live server in this process; ``url`` is its base address."""

    def __init__(self, app: Flask, signalr: SignalR) -> None:
        self.app = app
        self.signalr = signalr
        self._server = WSGIServer(("127.0.0.1", 0), app, log=None)
        self._server.start()
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    def hub_url(self, path: str) -> str:
        return self.url + path

    def endpoint(self, path: str) -> Any:
        return self.app.extensions["signalr"].endpoints[path]

    def stop(self) -> None:
        self.signalr.shutdown(self.app)
        self._server.stop(timeout=2)
