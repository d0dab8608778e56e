"""HTTP for the client: negotiate and the long-polling requests, on the standard library.

:mod:`http.client` rather than :mod:`urllib.request` because a long poll must be abortable from
another thread (``stop()``), which needs the connection object; it uses the :mod:`socket`
module at call time, so it is cooperative under gevent's monkey-patching as well.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import platform
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask_signalr.client.errors import HttpError, HubConnectionError

#: HTTP timeout for negotiate, sends and each poll, as the JavaScript client (100 s).
DEFAULT_HTTP_TIMEOUT = 100.0
#: How many negotiate redirects one start follows before giving up (as the JS client).
MAX_REDIRECTS = 100

USER_AGENT = (
    f"flask-signalr-client/0.1 (Python {platform.python_version()}; "
    f"{platform.system() or 'Unknown OS'})"
)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    body: bytes


class HttpClient:
    """One request at a time over a kept-alive connection; :meth:`abort` interrupts it."""

    def __init__(
        self, timeout: float = DEFAULT_HTTP_TIMEOUT, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._connection: http.client.HTTPConnection | None = None
        self._netloc: tuple[str, str] | None = None
        self._aborted = False

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResponse:
        """Send one request; OSError (and its subclasses) for network failures."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        while True:
            reused = self._connection is not None
            connection = self._connection_for(parts.scheme, parts.netloc)
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and not self._aborted:
                    continue  # the server had closed the idle kept-alive connection: redo it
                raise
            except http.client.HTTPException as exc:  # a malformed answer: a broken line
                self.close()
                raise ConnectionError(f"HTTP {method} {url} failed: {exc!r}") from exc
            except OSError:
                self.close()
                raise
            if response.will_close:
                self.close()
            return HttpResponse(response.status, response.reason, data)

    def _connection_for(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        if self._aborted:
            raise ConnectionAbortedError("The HTTP client was closed.")
        if self._connection is not None and self._netloc != (scheme, netloc):
            self.close()
        if self._connection is not None:
            return self._connection
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                netloc, timeout=self._timeout, context=self._ssl_context
            )
        elif scheme == "http":
            connection = http.client.HTTPConnection(netloc, timeout=self._timeout)
        else:
            raise ValueError(f"Unsupported URL scheme {scheme!r}; use http:// or https://.")
        connection.connect()
        # http.client writes a body apart from its headers: with Nagle's algorithm on, the body
        # would wait for the server's (delayed) ACK of the headers.
        no_delay(connection.sock)
        self._connection, self._netloc = connection, (scheme, netloc)
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def abort(self) -> None:
        """Fail the request in progress (from another thread) and refuse further ones."""
        self._aborted = True
        connection = self._connection
        sock = connection.sock if connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv


def no_delay(sock: socket.socket) -> None:
    """Send small writes at once: SignalR messages are small and latency matters."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# -- URLs ---------------------------------------------------------------------------------------


def negotiate_url(url: str) -> str:
    """``url`` with ``/negotiate`` appended to its path and ``negotiateVersion=1`` to its query."""
    parts = urlsplit(url)
    path = parts.path + ("negotiate" if parts.path.endswith("/") else "/negotiate")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key.lower() == "negotiateversion" for key, _ in query):
        query.append(("negotiateVersion", "1"))
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` appended to its query string."""
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)


def websocket_url(url: str) -> str:
    """``http(s)://`` becomes ``ws(s)://``; ``ws(s)://`` URLs are kept."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


# -- negotiate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AvailableTransport:
    name: str
    transfer_formats: tuple[str, ...]


@dataclass(frozen=True)
class Negotiation:
    """A successful negotiate: where to connect, as whom, over what."""

    #: The URL the transport connects to (a redirect may have replaced the original).
    url: str
    connection_id: str
    #: What transport requests send as ``id=`` (equals the id for version-0 servers).
    connection_token: str
    transports: tuple[AvailableTransport, ...]
    #: A bearer token a redirect handed out; it replaces the application's for this start.
    access_token: str | None = None


def negotiate(
    client: HttpClient, url: str, headers: Mapping[str, str], access_token: str | None
) -> Negotiation:
    """POST ``{url}/negotiate``, following redirects; raise with the server's reason if refused."""
    for _ in range(MAX_REDIRECTS):
        request_headers = dict(headers)
        if access_token:
            request_headers["Authorization"] = f"Bearer {access_token}"
        target = negotiate_url(url)
        try:
            response = client.request("POST", target, request_headers, body=b"")
        except OSError as exc:
            raise HubConnectionError(
                f"Failed to complete negotiation with the server: {exc}"
            ) from exc
        if not 200 <= response.status < 300:
            text = response.body.decode("utf-8", "replace") or response.reason
            message = (
                f"Failed to complete negotiation with the server: {text}: "
                f"Status code '{response.status}'"
            )
            if response.status == 404:
                message += (
                    " Either this is not a SignalR endpoint or there is a proxy blocking the "
                    "connection."
                )
            raise HttpError(message, response.status)
        data = _negotiate_body(response.body)
        if "url" in data and "connectionId" not in data:
            url = _required_str(data, "url")
            token = data.get("accessToken")
            if isinstance(token, str) and token:
                access_token = token
            continue
        return _negotiation(url, data, access_token)
    raise HubConnectionError("Negotiate redirection limit exceeded.")


def _negotiate_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise HubConnectionError(
            "Failed to complete negotiation with the server: the response is not JSON."
        ) from None
    if not isinstance(data, dict):
        raise HubConnectionError(
            "Failed to complete negotiation with the server: the response is not a JSON object."
        )
    error = data.get("error")
    if error:
        raise HubConnectionError(str(error))
    if "ProtocolVersion" in data:
        raise HubConnectionError(
            "Detected a connection attempt to an ASP.NET SignalR Server. This client only "
            "supports connecting to an ASP.NET Core SignalR Server."
        )
    return data


def _negotiation(url: str, data: dict[str, Any], access_token: str | None) -> Negotiation:
    connection_id = _required_str(data, "connectionId")
    version = data.get("negotiateVersion")
    token = data.get("connectionToken") if isinstance(version, int) and version >= 1 else None
    transports = []
    for entry in data.get("availableTransports") or ():
        if isinstance(entry, dict) and isinstance(entry.get("transport"), str):
            formats = entry.get("transferFormats") or ()
            transports.append(
                AvailableTransport(entry["transport"], tuple(str(item) for item in formats if item))
            )
    return Negotiation(
        url=url,
        connection_id=connection_id,
        connection_token=token if isinstance(token, str) and token else connection_id,
        transports=tuple(transports),
        access_token=access_token,
    )


def _required_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise HubConnectionError(
            f"Failed to complete negotiation with the server: '{key}' is missing from the response."
        )
    return value
