"""The error texts clients see, worded as ASP.NET Core SignalR words them.

Apps and tests written against ASP.NET match these strings, so they are kept verbatim. Only a
:class:`~flask_signalr.HubException`'s text is appended to them, unless detailed errors are on:
any other exception's text could leak secrets.
"""

from __future__ import annotations

from flask_signalr.errors import HubException


class InvalidDataException(ValueError):  # noqa: N818 - named as .NET names it
    """Bad data from the client (arguments that do not bind, unreadable messages).

    Named after the .NET exception so detailed error texts read exactly as ASP.NET's do.
    """


def with_detail(message: str, exception: BaseException, detailed: bool) -> str:
    """``message`` plus ``Type: text`` for HubExceptions or when detailed errors are enabled."""
    if isinstance(exception, HubException) or detailed:
        return f"{message} {type(exception).__name__}: {exception}"
    return message


def method_does_not_exist(target: str) -> str:
    return (
        f"Failed to invoke '{target}' due to an error on the server. "
        "HubException: Method does not exist."
    )


def binding_failed(target: str) -> str:
    return f"Failed to invoke '{target}' due to an error on the server."


def unauthorized(target: str) -> str:
    return f"Failed to invoke '{target}' because user is unauthorized"


def invocation_failed(target: str) -> str:
    return f"An unexpected error occurred invoking '{target}' on the server."


def streaming_method_not_streamed(target: str) -> str:
    return (
        f"The client attempted to invoke the streaming '{target}' method with a "
        "non-streaming invocation."
    )


def plain_method_streamed(target: str) -> str:
    return (
        f"The client attempted to invoke the non-streaming '{target}' method with a "
        "streaming invocation."
    )


def streaming_failed() -> str:
    return "An error occurred on the server while streaming results."


def invocation_id_in_use(invocation_id: str) -> str:
    return f"Invocation ID '{invocation_id}' is already in use."


CONNECTION_CLOSED_WITH_ERROR = "Connection closed with an error."
