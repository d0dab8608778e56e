"""/hubs/background: an admin changes the page background of everyone watching."""

from __future__ import annotations

from typing import Protocol

from flask_signalr import Hub, HubException, authorize
from services.state import COLOR, demo_state


class BackgroundClient(Protocol):
    def change_background(self, color: str) -> None: ...


class BackgroundHub(Hub[BackgroundClient]):
    @authorize(roles=["ADMIN"])
    def change_background(self, color: str) -> None:
        """Admins only; anyone else gets "... because user is unauthorized"."""
        if not COLOR.fullmatch(color):
            raise HubException("A background colour looks like #rrggbb.")
        demo_state().background = color
        self.clients.all.change_background(color)

    def get_background(self) -> str:
        return demo_state().background
