"""/hubs/vote: live voting, and a count of the pages watching."""

from __future__ import annotations

from typing import Protocol

from flask_signalr import Hub, HubException
from services.state import UnknownOptionError, check_option, demo_state


class VoteClient(Protocol):
    def update_votes(self, votes: dict[str, int]) -> None: ...

    def update_view_count(self, count: int) -> None: ...


class VoteHub(Hub[VoteClient]):
    def on_connected(self) -> None:
        state = demo_state()
        state.views += 1
        self.clients.all.update_view_count(state.views)

    def on_disconnected(self, exception: BaseException | None) -> None:
        state = demo_state()
        state.views = max(state.views - 1, 0)
        self.clients.all.update_view_count(state.views)

    def vote(self, option: str) -> dict[str, int]:
        """Count a vote and show the new tallies on every page (the caller's included)."""
        try:
            votes = demo_state().votes.vote(check_option(option))
        except UnknownOptionError as error:
            raise HubException(str(error)) from None
        self.clients.all.update_votes(votes)
        return votes

    def get_votes(self) -> dict[str, int]:
        return demo_state().votes.tallies()

    def get_view_count(self) -> int:
        return demo_state().views
