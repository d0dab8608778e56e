"""The Flask extension: options, hub mapping, hub contexts and the gevent server runner."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context

from flask_signalr import _concurrency
from flask_signalr.auth import (
    RoleChecker,
    UserIdProvider,
    default_role_checker,
    default_user_id_provider,
)
from flask_signalr.hub import Hub
from flask_signalr.hub_context import HubContext
from flask_signalr.lifetime.memory import MemoryHubLifetimeManager
from flask_signalr.options import SignalROptions, resolve_options
from flask_signalr.server.endpoint import HubEndpoint
from flask_signalr.transports.http import HubViews

logger = logging.getLogger("flask_signalr")

_H = TypeVar("_H", bound=type[Hub[Any]])
_EXTENSION_KEY = "signalr"


class _AppState:
    """What the extension keeps per app, in ``app.extensions["signalr"]``."""

    def __init__(self, extension: SignalR, app: Flask, options: SignalROptions) -> None:
        self.extension = extension
        self.app = app
        self.options = options
        self.endpoints: dict[str, HubEndpoint] = {}

    def map_hub(self, path: str, hub_class: type[Hub[Any]]) -> None:
        if path in self.endpoints:
            raise ValueError(f"A hub is already mapped to {path!r}.")
        endpoint = HubEndpoint(
            path,
            hub_class,
            self.options,
            MemoryHubLifetimeManager(),
            lambda user, role: self.extension._role_checker(user, role),
            lambda user: self.extension._user_id_provider(user),
        )
        views = HubViews(endpoint)
        name = path.strip("/").replace("/", ".") or "root"
        negotiate_path = path.rstrip("/") + "/negotiate"
        self.app.add_url_rule(
            negotiate_path,
            endpoint=f"signalr.{name}.negotiate",
            view_func=views.negotiate,
            methods=["POST", "OPTIONS"],
        )
        self.app.add_url_rule(
            path,
            endpoint=f"signalr.{name}.websocket",
            view_func=views.websocket,
            methods=["GET"],
            websocket=True,
        )
        self.app.add_url_rule(
            path,
            endpoint=f"signalr.{name}",
            view_func=views.connection,
            methods=["GET", "POST", "DELETE", "OPTIONS"],
        )
        self.endpoints[path] = endpoint

    def endpoint_for(self, hub: type[Hub[Any]] | str) -> HubEndpoint:
        if isinstance(hub, str):
            endpoint = self.endpoints.get(hub)
        else:
            endpoint = next((e for e in self.endpoints.values() if e.hub_class is hub), None)
        if endpoint is None:
            mapped = {path: e.hub_class.__name__ for path, e in self.endpoints.items()}
            raise LookupError(f"No hub {hub!r} is mapped in this app; mapped hubs: {mapped}.")
        return endpoint


class SignalR:
    """SignalR hubs for a Flask app.

    ``SignalR(app, **options)`` or ``SignalR(**options)`` then ``init_app(app)``; every option
    can also come from ``app.config["SIGNALR_<NAME>"]`` (a keyword wins).
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        resolve_options(options, {})  # fail fast on unknown names and bad values
        self._options = options
        self._hubs: list[tuple[str, type[Hub[Any]]]] = []
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        self._role_checker: RoleChecker = default_role_checker
        self._user_id_provider: UserIdProvider = default_user_id_provider
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Attach to ``app``: resolve options and register every hub mapped so far."""
        state = _AppState(self, app, resolve_options(self._options, app.config))
        app.extensions[_EXTENSION_KEY] = state
        self._apps.add(app)
        for path, hub_class in self._hubs:
            state.map_hub(path, hub_class)

    # -- hubs ---------------------------------------------------------------------------------

    def hub(self, path: str) -> Callable[[_H], _H]:
        """Class decorator: ``@signalr.hub("/hubs/chat")`` maps the hub at ``path``."""

        def decorate(hub_class: _H) -> _H:
            self.map_hub(path, hub_class)
            return hub_class

        return decorate

    def map_hub(self, path: str, hub_class: type[Hub[Any]]) -> None:
        """Serve ``hub_class`` at ``path`` (negotiate at ``path + "/negotiate"``)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"Hub paths must start with '/', got {path!r}.")
        self._hubs.append((path, hub_class))
        for app in list(self._apps):
            app.extensions[_EXTENSION_KEY].map_hub(path, hub_class)

    def hub_context(self, hub: type[Hub[Any]] | str) -> HubContext[Any]:
        """Clients and groups of a hub (by class or path), usable from views and greenlets."""
        return HubContext(self._state().endpoint_for(hub).manager)

    # -- identity hooks -----------------------------------------------------------------------

    def role_checker(self, function: RoleChecker) -> RoleChecker:
        """Decorator: replace how ``@authorize(roles=...)`` decides ``user`` holds ``role``."""
        self._role_checker = function
        return function

    def user_id_provider(self, function: UserIdProvider) -> UserIdProvider:
        """Decorator: replace how a user becomes ``context.user_identifier`` (``get_id()``)."""
        self._user_id_provider = function
        return function

    # -- serving ------------------------------------------------------------------------------

    def run(
        self, app: Flask, host: str = "127.0.0.1", port: int = 5000, **server_options: Any
    ) -> None:
        """Serve ``app`` (routes and hubs) on a gevent WSGI server until SIGINT or SIGTERM.

        Call ``gevent.monkey.patch_all()`` first thing in the program.
        """
        server = _concurrency.WSGIServer((host, port), app, **server_options)
        _concurrency.on_stop_signals(lambda: self.shutdown(app, server))
        logger.info("flask_signalr serving on http://%s:%s", host, server.server_port)
        server.serve_forever()

    def shutdown(self, app: Flask, server: Any = None) -> None:
        """Close every connection (clients may reconnect elsewhere) and stop ``server``."""
        state: _AppState = app.extensions[_EXTENSION_KEY]
        for endpoint in state.endpoints.values():
            endpoint.close_all(reconnect=True)
        if server is not None:
            server.stop(timeout=5)

    def _state(self) -> _AppState:
        if has_app_context():
            state = current_app.extensions.get(_EXTENSION_KEY)
            if state is not None and state.extension is self:
                return state  # type: ignore[no-any-return]
        apps = list(self._apps)
        if len(apps) == 1:
            return apps[0].extensions[_EXTENSION_KEY]  # type: ignore[no-any-return]
        if not apps:
            raise RuntimeError("SignalR is not initialised: call SignalR(app) or init_app(app).")
        raise RuntimeError(
            "SignalR is initialised on several apps; call hub_context() inside an app context "
            "(with app.app_context(): ...) so it knows which app you mean."
        )
