"""ASP.NET Core SignalR's hub model for Flask, on gevent.

The public API is what this module exports; everything else is internal.
"""

from __future__ import annotations

from flask_signalr.auth import authorize as authorize
from flask_signalr.clients import ClientProxy as ClientProxy
from flask_signalr.context import HubCallerContext as HubCallerContext
from flask_signalr.errors import HubException as HubException
from flask_signalr.errors import SignalRError as SignalRError
from flask_signalr.extension import SignalR as SignalR
from flask_signalr.hub import Hub as Hub
from flask_signalr.hub import hub_method as hub_method
from flask_signalr.hub_context import HubContext as HubContext

__all__ = [
    "ClientProxy",
    "Hub",
    "HubCallerContext",
    "HubContext",
    "HubException",
    "SignalR",
    "SignalRError",
    "authorize",
    "hub_method",
]
