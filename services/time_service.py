"""TimeService: a hosted service that tells every page the server's time twice a second."""

from __future__ import annotations

from flask_signalr import HostedService
from hubs.time_hub import TimeHub, current_time


class TimeService(HostedService):
    interval = 0.5  # seconds; the first tick runs as the server starts

    def tick(self) -> None:
        self.hub_context(TimeHub).clients.all.update_current_time(current_time())
