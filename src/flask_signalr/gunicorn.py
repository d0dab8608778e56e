"""Gunicorn hooks: hosted services per worker, connections closed at worker shutdown.

Use them with ``gunicorn -k gevent -c python:flask_signalr.gunicorn app:app`` (or import them
into your own config module). Gunicorn offers no hook between "stop accepting" and "wait for
requests to end", and hub connections are requests that never end on their own, so a small
watcher closes them (telling clients to reconnect elsewhere) as soon as the worker is asked to
stop.
"""

from __future__ import annotations

from typing import Any

from flask_signalr import _concurrency
from flask_signalr.extension import SignalR

worker_class = "gevent"

#: How often the watcher checks whether gunicorn asked the worker to stop.
_WATCH_INTERVAL = 0.25


def post_worker_init(worker: Any) -> None:
    """Start every initialised app's hosted services in this worker."""
    for extension, app in SignalR.initialized():
        extension.start_hosted_services(app)
    _concurrency.spawn(_close_when_stopping, worker)


def _close_when_stopping(worker: Any) -> None:
    while worker.alive:
        _concurrency.sleep(_WATCH_INTERVAL)
    for extension, app in SignalR.initialized():
        extension.shutdown(app)
