"""Fixtures of the wire suite: raw clients that are always released after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from support.raw import RawHub
from support.server import RunningServer


@pytest.fixture
def raw(start_server: Any) -> Iterator[Callable[..., RawHub]]:
    """``raw(server, path)`` makes a :class:`RawHub`; its socket is closed before servers stop."""
    clients: list[RawHub] = []

    def make(server: RunningServer, path: str = "/hubs/test") -> RawHub:
        client = RawHub(server, path)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
