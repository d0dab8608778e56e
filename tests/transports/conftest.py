"""Fixtures of the HTTP transport suite: raw clients whose streams are closed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from transports.http_client import HttpHub, MakeHub

from support.server import RunningServer


@pytest.fixture
def http_hub() -> Iterator[MakeHub]:
    """``http_hub(server, path)``: an :class:`HttpHub` whose streams close before servers stop."""
    hubs: list[HttpHub] = []

    def make(server: RunningServer, path: str = "/hubs/test") -> HttpHub:
        hub = HttpHub(server, path)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()
