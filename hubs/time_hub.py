"""/hubs/time: the server's clock, pushed by services.time_service.TimeService."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from flask_signalr import Hub


class TimeClient(Protocol):
    def update_current_time(self, time: str) -> None: ...


def current_time() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class TimeHub(Hub[TimeClient]):
    def get_current_time(self) -> str:
        """The time now, for a page that has just (re)connected."""
        return current_time()
