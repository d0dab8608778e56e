"""Origin checks and CORS, shared by negotiate and every transport request.

Browsers attach cookies to cross-site WebSocket and fetch requests, so a page on another site
could act as the logged-in user (cross-site WebSocket hijacking). Requests that carry an
``Origin`` are therefore accepted only from the app's own origin or from ``allowed_origins``.
Requests without ``Origin`` (non-browser clients) cannot be driven by a foreign page and pass.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from flask import Request, Response

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_ALLOWED_HEADERS = "X-Requested-With, X-SignalR-User-Agent, Authorization, Content-Type"


def _netloc(scheme: str, host: str) -> str:
    host = host.lower()
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port and host.endswith(f":{default_port}"):
        host = host[: -len(default_port) - 1]
    return host


def is_same_origin(request: Request, origin: str) -> bool:
    parts = urlsplit(origin)
    return _netloc(parts.scheme, parts.netloc) == _netloc(request.scheme, request.host)


def origin_allowed(request: Request, allowed_origins: Collection[str]) -> bool:
    """Whether the request's ``Origin`` (if any) may use this hub."""
    origin = request.headers.get("Origin")
    if not origin or "*" in allowed_origins:
        return True
    if origin == "null":
        return False  # sandboxed frames and local files: only with allowed_origins="*"
    return origin.rstrip("/").lower() in allowed_origins or is_same_origin(request, origin)


def add_cors_headers(request: Request, response: Response) -> Response:
    """Let an allowed cross-origin page read the response, cookies included."""
    origin = request.headers.get("Origin")
    if origin and not is_same_origin(request, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.vary.add("Origin")
    return response


def preflight_response(request: Request, methods: str) -> Response:
    """Answer a CORS preflight (the caller has already checked the origin)."""
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = methods
    response.headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", _ALLOWED_HEADERS
    )
    response.headers["Access-Control-Max-Age"] = "3600"
    return add_cors_headers(request, response)
