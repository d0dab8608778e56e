"""Run hub code inside the Flask context of the request that opened the connection.

Hub methods, lifecycle hooks and filters may use ``flask.current_app``, ``flask.g``,
``flask.request`` (the connect request) and flask-login's ``current_user``, exactly as a view
would. Each call gets a fresh request context built from a snapshot of the connect request, so
``g`` never leaks between calls and ``teardown_request`` handlers (closing database sessions, for
instance) run after every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

# Request-bound environ entries that must not be kept for the connection's lifetime.
_TRANSIENT_KEYS = (
    "wsgi.input",
    "wsgi.errors",
    "wsgi.file_wrapper",
    "gunicorn.socket",
    "gunicorn.sock",
    "werkzeug.socket",
)


class RequestScope:
    """A snapshot of the connect request from which per-call request contexts are built."""

    __slots__ = ("app", "environ", "session", "user")

    def __init__(
        self, app: Flask, environ: dict[str, Any], session: SessionMixin | None, user: Any
    ) -> None:
        self.app = app
        self.environ = {k: v for k, v in environ.items() if k not in _TRANSIENT_KEYS}
        self.session = session
        self.user = user

    @contextmanager
    def activate(self) -> Iterator[None]:
        """Push a request context for one hub call, with the connection's user logged in."""
        context = RequestContext(self.app, self.environ, session=self.session)
        context.push()
        try:
            # flask-login's current_user reads g._login_user; setting it keeps the user loaded at
            # connect time instead of reloading it (the token may be gone from the snapshot).
            g._login_user = self.user
            yield
        finally:
            context.pop()
