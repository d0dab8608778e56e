"""``HubConnectionBuilder``: configure a :class:`HubConnection` the way the .NET client does.

Nothing connects until ``build().start()``; the builder only checks and records settings, so a
mistake (an unknown protocol, ``skip_negotiation`` without WebSockets) fails at ``build()``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence

from flask_signalr.client.connection import HubConnection
from flask_signalr.client.connector import HttpConnector
from flask_signalr.client.http import DEFAULT_HTTP_TIMEOUT
from flask_signalr.client.retry import DEFAULT_RETRY_DELAYS, DelayListRetryPolicy, RetryPolicy
from flask_signalr.client.runtime import THREADS
from flask_signalr.client.transports import HttpTransportType
from flask_signalr.protocol import protocols_by_name
from flask_signalr.protocol.base import HubProtocol

TransportChoice = HttpTransportType | str | Iterable[str]

_ALL_TRANSPORTS = HttpTransportType.WEB_SOCKETS | HttpTransportType.LONG_POLLING


class HubConnectionBuilder:
    """Fluent configuration of a hub connection; every ``with_*`` returns the builder."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._access_token_factory: Callable[[], str | None] | None = None
        self._headers: dict[str, str] = {}
        self._skip_negotiation = False
        self._transports: HttpTransportType = _ALL_TRANSPORTS
        self._retry_policy: RetryPolicy | None = None
        self._protocol: HubProtocol = protocols_by_name(("json",))["json"]
        self._server_timeout = 30.0
        self._keep_alive_interval = 15.0
        self._http_timeout = DEFAULT_HTTP_TIMEOUT
        self._ssl_context: ssl.SSLContext | None = None

    def with_url(
        self,
        url: str,
        access_token_factory: Callable[[], str | None] | None = None,
        headers: Mapping[str, str] | None = None,
        skip_negotiation: bool = False,
        transport: TransportChoice | None = None,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> HubConnectionBuilder:
        """The hub's URL (``http(s)://host/hubs/chat``) and how to reach it.

        ``access_token_factory`` is called before every connect (start and each reconnect
        attempt) and sent as ``Authorization: Bearer <token>``. ``transport`` limits the
        transports tried: ``"WebSockets"``, ``"LongPolling"``, a list of them or an
        :class:`HttpTransportType`. ``skip_negotiation`` connects the WebSocket directly and
        needs ``transport="WebSockets"``.
        """
        if not url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError(f"The hub URL must start with http:// or https://, got {url!r}.")
        self._url = url
        self._access_token_factory = access_token_factory
        self._headers = dict(headers or {})
        self._skip_negotiation = skip_negotiation
        self._transports = _transport_flags(transport) if transport is not None else _ALL_TRANSPORTS
        self._http_timeout = _positive("http_timeout", http_timeout)
        self._ssl_context = ssl_context
        return self

    def with_automatic_reconnect(
        self, policy: Sequence[float] | RetryPolicy | None = None
    ) -> HubConnectionBuilder:
        """Reconnect after the connection is lost (never after ``stop()`` or a failed start).

        ``policy`` is a list of delays in seconds, one per attempt (default ``[0, 2, 10, 30]``),
        or an object whose ``next_retry_delay(retry_context)`` returns seconds or ``None`` to
        give up.
        """
        if policy is None:
            self._retry_policy = DelayListRetryPolicy(DEFAULT_RETRY_DELAYS)
        elif hasattr(policy, "next_retry_delay"):
            self._retry_policy = policy
        elif isinstance(policy, Sequence) and not isinstance(policy, str):
            self._retry_policy = DelayListRetryPolicy(policy)
        else:
            raise TypeError(
                "with_automatic_reconnect() takes a list of delays in seconds or an object "
                f"with next_retry_delay(retry_context), got {policy!r}."
            )
        return self

    def with_hub_protocol(self, protocol: str) -> HubConnectionBuilder:
        """``"json"`` (the default) or ``"messagepack"``."""
        try:
            self._protocol = protocols_by_name((protocol,))[protocol]
        except ValueError:
            raise ValueError(
                f"Unknown hub protocol {protocol!r}; use 'json' or 'messagepack'."
            ) from None
        return self

    def with_server_timeout(self, seconds: float) -> HubConnectionBuilder:
        """Close the connection when the server sends nothing for this long (default 30 s).

        Keep it at least twice the server's ``keep_alive_interval``.
        """
        self._server_timeout = _positive("server_timeout", seconds)
        return self

    def with_keep_alive_interval(self, seconds: float) -> HubConnectionBuilder:
        """Send a ping after this long without sending anything (default 15 s).

        Keep it at most half the server's ``client_timeout_interval``.
        """
        self._keep_alive_interval = _positive("keep_alive_interval", seconds)
        return self

    def build(self) -> HubConnection:
        """A new, not yet started, :class:`HubConnection`."""
        if self._url is None:
            raise RuntimeError("Call with_url(...) before build().")
        connector = HttpConnector(
            self._url,
            THREADS,
            access_token_factory=self._access_token_factory,
            headers=self._headers,
            transports=self._transports,
            skip_negotiation=self._skip_negotiation,
            http_timeout=self._http_timeout,
            ssl_context=self._ssl_context,
        )
        return HubConnection(
            connector,
            self._protocol,
            retry_policy=self._retry_policy,
            server_timeout=self._server_timeout,
            keep_alive_interval=self._keep_alive_interval,
            runtime=THREADS,
        )


def _transport_flags(choice: TransportChoice) -> HttpTransportType:
    if isinstance(choice, HttpTransportType):
        flags = choice
    else:
        names = [choice] if isinstance(choice, str) else list(choice)
        by_name = {name.lower(): flag for flag, name in _WIRE_FLAGS}
        flags = HttpTransportType.NONE
        for name in names:
            flag = by_name.get(str(name).lower())
            if flag is None:
                raise ValueError(f"Unknown transport {name!r}; use 'WebSockets' or 'LongPolling'.")
            flags |= flag
    if not flags & _ALL_TRANSPORTS:
        raise ValueError(
            "The client implements the WebSockets and LongPolling transports; "
            f"{flags!r} selects neither."
        )
    return flags


_WIRE_FLAGS = (
    (HttpTransportType.WEB_SOCKETS, "WebSockets"),
    (HttpTransportType.LONG_POLLING, "LongPolling"),
)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
    return float(value)
