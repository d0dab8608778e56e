"""The Python SignalR client: talk to any ASP.NET Core SignalR hub (this server's included).

Works in plain threads and under gevent::

    from flask_signalr.client import HubConnectionBuilder

    connection = (
        HubConnectionBuilder()
        .with_url("http://127.0.0.1:5000/hubs/chat")
        .with_automatic_reconnect()
        .build()
    )
    connection.on("ReceiveMessage", lambda user, message: print(user, message))
    connection.start()
    connection.send("SendMessage", "me", "hi")
    connection.stop()

This package speaks only the wire protocol (:mod:`flask_signalr.protocol`); it never touches the
server side of the library.
"""

from __future__ import annotations

from flask_signalr.client.builder import HubConnectionBuilder as HubConnectionBuilder
from flask_signalr.client.connection import HubConnection as HubConnection
from flask_signalr.client.connection import HubConnectionState as HubConnectionState
from flask_signalr.client.errors import HttpError as HttpError
from flask_signalr.client.errors import HubConnectionError as HubConnectionError
from flask_signalr.client.retry import RetryContext as RetryContext
from flask_signalr.client.retry import RetryPolicy as RetryPolicy
from flask_signalr.client.streams import HubStream as HubStream
from flask_signalr.client.transports import HttpTransportType as HttpTransportType

__all__ = [
    "HttpError",
    "HttpTransportType",
    "HubConnection",
    "HubConnectionBuilder",
    "HubConnectionError",
    "HubConnectionState",
    "HubStream",
    "RetryContext",
    "RetryPolicy",
]
