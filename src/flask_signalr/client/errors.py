"""Errors the Python client raises.

:class:`~flask_signalr.HubException` (from :mod:`flask_signalr.errors`) is what ``invoke`` and
``stream`` raise when the *server* answers with an error. The classes here describe the
connection itself: it could not be started, or it ended while a call was waiting.
"""

from __future__ import annotations

from flask_signalr.errors import SignalRError


class HubConnectionError(SignalRError, ConnectionError):
    """The connection could not be started, or is not (or no longer) connected."""


class HttpError(HubConnectionError):
    """An HTTP request (negotiate, WebSocket upgrade, long poll) got a non-success status."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        #: The HTTP status the server answered with (401, 404, ...).
        self.status_code = status_code
