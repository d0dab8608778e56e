"""ASP.NET Core SignalR's hub model for Flask, on gevent.

The public API is what this module exports; everything else is internal.
"""

from __future__ import annotations

from flask_signalr.auth import authorize as authorize
from flask_signalr.clients import ClientProxy as ClientProxy
from flask_signalr.clients import client_method as client_method
from flask_signalr.context import HubCallerContext as HubCallerContext
from flask_signalr.errors import ConnectionLostError as ConnectionLostError
from flask_signalr.errors import HubException as HubException
from flask_signalr.errors import SignalRError as SignalRError
from flask_signalr.extension import SignalR as SignalR
from flask_signalr.filters import HubFilter as HubFilter
from flask_signalr.filters import HubInvocationContext as HubInvocationContext
from flask_signalr.filters import HubLifetimeContext as HubLifetimeContext
from flask_signalr.hosting import HostedService as HostedService
from flask_signalr.hub import Hub as Hub
from flask_signalr.hub import hub_method as hub_method
from flask_signalr.hub_context import HubContext as HubContext

__all__ = [
    "ClientProxy",
    "ConnectionLostError",
    "HostedService",
    "Hub",
    "HubCallerContext",
    "HubContext",
    "HubException",
    "HubFilter",
    "HubInvocationContext",
    "HubLifetimeContext",
    "SignalR",
    "SignalRError",
    "authorize",
    "client_method",
    "hub_method",
]
