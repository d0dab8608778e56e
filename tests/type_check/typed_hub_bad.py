"""Mistakes mypy must catch in strongly typed hubs; each line marked "error" is one."""

from typing import Protocol

from flask import Flask

from flask_signalr import Hub, SignalR


class VoteClient(Protocol):
    def update_votes(self, votes: dict[str, int]) -> None: ...


class VoteHub(Hub[VoteClient]):
    def vote(self, option: str) -> None:
        self.clients.all.update_vote({option: 1})  # error: misspelt method
        self.clients.all.update_votes({option: "one"})  # error: wrong argument type
        self.clients.caller.update_votes()  # error: missing argument


signalr = SignalR(Flask(__name__))
signalr.hub_context(VoteHub).clients.all.update_votez({})  # error: misspelt via hub_context
