"""Reach a hub's clients from outside hub code: Flask views, greenlets, hosted services, and
(through Redis) other processes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic

from flask_signalr.clients import ClientSpec, GroupManager, HubClients, TClient, client_spec
from flask_signalr.hub import Hub, client_type_of
from flask_signalr.lifetime.base import HubLifetimeManager


class HubContext(Generic[TClient]):
    """``clients`` and ``groups`` of one hub (ASP.NET's ``IHubContext<THub>``).

    There is no caller here, so ``caller``, ``others`` and ``others_in_group`` do not exist.
    """

    __slots__ = ("clients", "groups")

    def __init__(self, manager: HubLifetimeManager, client_spec: ClientSpec | None = None) -> None:
        self.clients: HubClients[TClient] = HubClients(manager, client_spec)
        self.groups = GroupManager(manager)

    @classmethod
    def from_redis(
        cls,
        url: str,
        hub: str | type[Hub[Any]],
        channel_prefix: str = "signalr",
        redis_db: int | None = None,
        protocols: Sequence[str] = ("json", "messagepack"),
    ) -> HubContext[Any]:
        """A context for a process with no server: it publishes through the Redis backplane.

        ``hub`` is the hub class or its class name; ``channel_prefix``, ``redis_db`` and
        ``protocols`` must match the servers'. Sends return at once; ``groups.add/remove``
        and ``invoke`` block the calling thread until the server holding the connection
        answers (or time out). No gevent needed.
        """
        from flask_signalr.lifetime.redis_publisher import RedisPublisher

        name = hub if isinstance(hub, str) else hub.__name__
        client_type = None if isinstance(hub, str) else client_type_of(hub)
        publisher = RedisPublisher(url, name, channel_prefix, redis_db, protocols)
        return cls(publisher, client_spec(client_type) if client_type else None)
