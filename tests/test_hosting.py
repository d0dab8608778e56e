"""Hosted services: ticking, surviving failures, stopping for good, reaching hubs."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import gevent
import pytest
from flask import Flask, current_app

from flask_signalr import HostedService, SignalR

from support.apps import TestHub, create_app
from support.js import JsDriver
from support.server import RunningServer
from support.waiting import wait_until


class Ticker(HostedService):
    interval = 0.02
    ticks: ClassVar[list[str]] = []

    def tick(self) -> None:
        Ticker.ticks.append(current_app.name)
        if len(Ticker.ticks) % 2:
            raise RuntimeError("every other tick fails")


def test_ticks_at_start_survive_errors_and_stop_for_good(caplog: pytest.LogCaptureFixture) -> None:
    Ticker.ticks = []
    app = Flask("ticking")
    signalr = SignalR(app)
    signalr.add_hosted_service(Ticker)
    signalr.start_hosted_services(app)
    wait_until(lambda: len(Ticker.ticks) >= 5)  # failing ticks do not stop the schedule
    signalr.stop_hosted_services(app)
    stopped_at = len(Ticker.ticks)
    gevent.sleep(Ticker.interval * 5)  # proving absence: several intervals pass with no tick
    assert len(Ticker.ticks) == stopped_at
    assert "Ticker.tick() failed" in caplog.text


class Slow(HostedService):
    interval = 60.0
    ticks = 0

    def tick(self) -> None:
        Slow.ticks += 1


def test_first_tick_runs_at_start_not_after_an_interval() -> None:
    app = Flask("slow")
    signalr = SignalR(app)
    signalr.add_hosted_service(Slow)
    signalr.start_hosted_services(app)
    wait_until(lambda: Slow.ticks == 1, timeout=1.0)
    signalr.stop_hosted_services(app)


def test_service_reaches_hub_clients(
    start_server: Callable[..., RunningServer], js: JsDriver
) -> None:
    app, signalr = create_app()

    class Announcer(HostedService):
        interval = 0.05

        def tick(self) -> None:
            self.hub_context(TestHub).clients.all.send("Receive", "service", "tick")

    signalr.add_hosted_service(Announcer)
    server = start_server((app, signalr))
    client = js.connect(server.hub_url("/hubs/test"), handlers=("Receive",))
    signalr.start_hosted_services(app)
    assert client.next_message("Receive") == ["service", "tick"]
    client.stop()


def test_only_hosted_services_are_accepted() -> None:
    with pytest.raises(TypeError, match="not a HostedService"):
        SignalR().add_hosted_service(object)  # type: ignore[arg-type]


class Misconfigured(HostedService):
    interval = 0


def test_non_positive_interval_is_refused() -> None:
    app = Flask("bad")
    signalr = SignalR(app)
    signalr.add_hosted_service(Misconfigured)
    with pytest.raises(ValueError, match="interval must be positive"):
        signalr.start_hosted_services(app)
