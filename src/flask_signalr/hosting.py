"""Hosted services: background work that lives as long as the server (ASP.NET's IHostedService).

A service is started with the server (``signalr.run`` or the gunicorn hooks in
:mod:`flask_signalr.gunicorn`) and stopped on shutdown. The common case is a ticker: set
``interval`` and override ``tick()``; ticks run inside the app context, on a fixed schedule
(no drift), the first one at start. A tick that raises is logged and the next one runs as usual.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, overload

from flask import Flask

from flask_signalr import _concurrency
from flask_signalr.clients import TClient
from flask_signalr.hub import Hub
from flask_signalr.hub_context import HubContext

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.extension import SignalR

logger = logging.getLogger("flask_signalr")


class HostedService:
    """Base class of background services; override ``tick`` (with ``interval``) or start/stop."""

    #: Seconds between ticks; None means no ticker (override start/stop instead).
    interval: float | None = None
    #: For ``singleton=True`` services: how long the cluster-wide lease lasts without renewal,
    #: i.e. about how soon another server takes over when this one dies.
    lease_seconds: float = 3.0

    signalr: SignalR
    app: Flask

    def __init__(self) -> None:
        self._ticker: Any = None

    def start(self) -> None:
        """Begin the service; by default, start ticking every ``interval`` seconds."""
        if self.interval is not None:
            if self.interval <= 0:
                raise ValueError(f"{type(self).__name__}.interval must be positive seconds.")
            self._ticker = _concurrency.spawn(self._tick_forever, self.interval)

    def stop(self) -> None:
        """End the service; by default, stop the ticker (no tick runs after this returns)."""
        if self._ticker is not None:
            self._ticker.kill(block=True, timeout=5)
            self._ticker = None

    def tick(self) -> None:
        """One unit of periodic work (runs in the app context)."""

    @overload
    def hub_context(self, hub: type[Hub[TClient]]) -> HubContext[TClient]: ...

    @overload
    def hub_context(self, hub: str) -> HubContext[Any]: ...

    def hub_context(self, hub: type[Hub[Any]] | str) -> HubContext[Any]:
        """Clients and groups of a hub of this service's app."""
        with self.app.app_context():
            return self.signalr.hub_context(hub)

    def _tick_forever(self, interval: float) -> None:
        next_tick = time.monotonic()
        while True:
            try:
                with self.app.app_context():
                    self.tick()
            except Exception:
                logger.exception(
                    "%s.tick() failed; the next tick runs on schedule.", type(self).__name__
                )
            next_tick += interval
            now = time.monotonic()
            if next_tick < now:  # a tick overran: skip the missed slots rather than bunching up
                next_tick = now + interval - (now - next_tick) % interval
            _concurrency.sleep(next_tick - now)
