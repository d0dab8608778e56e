"""Reach a hub's clients from outside hub code: Flask views, greenlets, hosted services."""

from __future__ import annotations

from typing import Generic

from flask_signalr.clients import ClientSpec, GroupManager, HubClients, TClient
from flask_signalr.lifetime.base import HubLifetimeManager


class HubContext(Generic[TClient]):
    """``clients`` and ``groups`` of one hub (ASP.NET's ``IHubContext<THub>``).

    There is no caller here, so ``caller``, ``others`` and ``others_in_group`` do not exist.
    """

    __slots__ = ("clients", "groups")

    def __init__(self, manager: HubLifetimeManager, client_spec: ClientSpec | None = None) -> None:
        self.clients: HubClients[TClient] = HubClients(manager, client_spec)
        self.groups = GroupManager(manager)
