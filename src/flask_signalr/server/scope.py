"""Run hub code inside the Flask context of the request that opened the connection.

Hub methods, lifecycle hooks and filters may use ``flask.current_app``, ``flask.g``,
``flask.request`` (the connect request) and flask-login's ``current_user``, exactly as a view
would. Building a request context costs far more than a typical hub call (a request object, URL
matching, session handling), so it is built once per connection, pushed into a private
:mod:`contextvars` context, and every call runs in a copy of that context with a fresh app
context of its own: ``g`` is new for every call, ``teardown_appcontext`` handlers (closing
database sessions) run after every call, and ``teardown_request`` handlers once, when the
connection ends.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

_T = TypeVar("_T")

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
    """The connect request's Flask context, kept for the connection's calls."""

    __slots__ = ("_base", "_closed", "_request_context", "app", "user")

    def __init__(
        self, app: Flask, environ: dict[str, Any], session: SessionMixin | None, user: Any
    ) -> None:
        self.app = app
        self.user = user
        snapshot = {k: v for k, v in environ.items() if k not in _TRANSIENT_KEYS}
        self._request_context = RequestContext(app, snapshot, session=session)
        self._base = contextvars.Context()
        self._base.run(self._request_context.push)
        self._closed = False

    def run(self, function: Callable[..., _T], *args: Any) -> _T:
        """Call ``function(*args)`` with the connection's request context and a fresh ``g``."""
        return self._base.copy().run(self._call, function, args)

    def _call(self, function: Callable[..., _T], args: tuple[Any, ...]) -> _T:
        # A fresh app context (a fresh g) for this call. It is pushed inside a copy of the
        # connection's context that is thrown away afterwards, so it needs no pop: only the
        # teardown handlers are run, and only when the app has some (popping costs more than a
        # small hub call; appcontext_popped is therefore not sent for hub calls).
        self.app.app_context().push()
        try:
            # flask-login's current_user reads g._login_user; setting it keeps the user loaded at
            # connect time instead of reloading it (the token may be gone from the snapshot).
            g._login_user = self.user
            return function(*args)
        finally:
            if self.app.teardown_appcontext_funcs:
                self.app.do_teardown_appcontext()

    def close(self) -> None:
        """The connection ended: run the request's teardown handlers."""
        if not self._closed:
            self._closed = True
            self._base.run(self._request_context.pop)
