"""A strongly typed hub that must type-check cleanly (mypy --strict)."""

from typing import Protocol

from flask import Flask

from flask_signalr import Hub, SignalR, client_method


class VoteClient(Protocol):
    def update_votes(self, votes: dict[str, int]) -> None: ...

    @client_method("ShowError")
    def show_error(self, message: str) -> None: ...

    def confirm(self, question: str) -> bool: ...


class VoteHub(Hub[VoteClient]):
    def vote(self, option: str) -> None:
        self.clients.all.update_votes({option: 1})
        self.clients.others.show_error("someone voted")
        if self.clients.caller.confirm("sure?"):
            self.clients.group("voters").update_votes({})


signalr = SignalR(Flask(__name__))
signalr.map_hub("/hubs/vote", VoteHub)
signalr.hub_context(VoteHub).clients.all.update_votes({"a": 2})


class PlainHub(Hub):
    def shout(self, text: str) -> str:
        self.clients.all.send("Shout", text)
        answer: object = self.clients.caller.invoke("Ask", text, timeout=5)
        return str(answer)
