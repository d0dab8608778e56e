"""The demo's shared state: vote tallies, the number of open pages, the page background.

Hubs are made afresh for every call, so state lives here, one :class:`DemoState` per app
(``app.extensions["demo"]``). The server owns this state and checks every change; pages only
display what it says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import redis
from flask import Flask, current_app

#: What people can vote for, in display order: option -> label.
OPTIONS: Mapping[str, str] = {"python": "Python", "csharp": "C#", "javascript": "JavaScript"}

#: Background colours are exactly ``#rrggbb`` (what ``<input type="color">`` produces).
COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class UnknownOptionError(ValueError):
    """A vote for something that is not on the ballot."""

    def __init__(self, option: str) -> None:
        shown = option if len(option) <= 40 else option[:40] + "..."
        super().__init__(f"Unknown option {shown!r}; vote for one of: {', '.join(OPTIONS)}.")


def check_option(option: str) -> str:
    if option not in OPTIONS:
        raise UnknownOptionError(option)
    return option


class VoteStore(Protocol):
    def vote(self, option: str) -> dict[str, int]:
        """Count one vote for ``option`` (already checked); return every tally."""

    def tallies(self) -> dict[str, int]:
        """Every option's tally."""


class MemoryVoteStore:
    """Tallies in this process (they start at zero again when the server restarts)."""

    def __init__(self) -> None:
        self._votes = dict.fromkeys(OPTIONS, 0)

    def vote(self, option: str) -> dict[str, int]:
        self._votes[option] += 1
        return self.tallies()

    def tallies(self) -> dict[str, int]:
        return dict(self._votes)


class RedisVoteStore:
    """Tallies in a Redis hash, so every instance started with the same ``--redis`` sees them."""

    def __init__(self, url: str, key: str = "demo:votes") -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._key = key

    def vote(self, option: str) -> dict[str, int]:
        self._redis.hincrby(self._key, option, 1)
        return self.tallies()

    def tallies(self) -> dict[str, int]:
        stored = self._redis.hgetall(self._key)
        return {option: int(stored.get(option, 0)) for option in OPTIONS}


@dataclass
class DemoState:
    votes: VoteStore
    #: Vote-hub connections open on this instance (one per open page).
    views: int = 0
    #: The page background chosen by an admin ("" = the stylesheet's own).
    background: str = ""


def init_state(app: Flask, redis_url: str | None = None) -> DemoState:
    state = DemoState(RedisVoteStore(redis_url) if redis_url else MemoryVoteStore())
    app.extensions["demo"] = state
    return state


def demo_state() -> DemoState:
    """The state of the current app (hubs and views run inside its app context)."""
    state: DemoState = current_app.extensions["demo"]
    return state
