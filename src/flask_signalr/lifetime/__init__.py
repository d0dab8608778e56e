"""Lifetime managers: who is connected, in which groups, and how a message reaches them."""

from __future__ import annotations

from collections.abc import Mapping

from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.lifetime.memory import MemoryHubLifetimeManager
from flask_signalr.options import SignalROptions
from flask_signalr.protocol.base import HubProtocol


def create_manager(
    options: SignalROptions, hub_name: str, protocols: Mapping[str, HubProtocol]
) -> HubLifetimeManager:
    """The Redis backplane when ``redis_url`` is set, else the in-memory manager."""
    if options.redis_url is None:
        return MemoryHubLifetimeManager()
    from flask_signalr.lifetime.redis import RedisHubLifetimeManager

    return RedisHubLifetimeManager(
        hub_name, options.redis_url, protocols, options.channel_prefix, options.redis_db
    )
