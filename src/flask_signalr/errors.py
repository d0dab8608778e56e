"""Public exceptions.

:class:`HubException` is the one error whose text crosses to the client: raise it from a hub
method to tell the caller what went wrong. Any other exception is reported to the client as a
generic error (its text could leak secrets) unless ``enable_detailed_errors`` is on.
"""

from __future__ import annotations


class SignalRError(Exception):
    """Base class of the errors this package raises."""


class HubException(SignalRError):  # noqa: N818 - the name SignalR users know
    """An error meant for the client: its message is sent as the invocation's error.

    Also raised by ``invoke()`` when the client answered a server-to-client call with an error.
    """


class ConnectionLostError(SignalRError, ConnectionError):
    """The connection ended abnormally; passed to ``on_disconnected`` with the reason."""
