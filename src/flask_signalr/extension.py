"""The Flask extension: options, hub mapping, hub contexts and the gevent server runner."""

from __future__ import annotations

import logging
import secrets
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from flask import Flask, current_app, has_app_context

from flask_signalr import _concurrency
from flask_signalr.auth import (
    RoleChecker,
    UserIdProvider,
    default_role_checker,
    default_user_id_provider,
)
from flask_signalr.clients import TClient
from flask_signalr.filters import HubFilter, as_filter
from flask_signalr.hosting import HostedService
from flask_signalr.hub import Hub
from flask_signalr.hub_context import HubContext
from flask_signalr.options import SignalROptions, resolve_options
from flask_signalr.server.endpoint import HubEndpoint
from flask_signalr.server.methods import discover_methods
from flask_signalr.server.tokens import TokenSigner
from flask_signalr.transports.http import HubViews

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.lifetime.lease import LeasedService
    from flask_signalr.testing import HubTestClient

logger = logging.getLogger("flask_signalr")

_H = TypeVar("_H", bound=type[Hub[Any]])
_EXTENSION_KEY = "signalr"


@dataclass(frozen=True)
class _HubMapping:
    path: str
    hub_class: type[Hub[Any]]
    #: Filters for this hub only; they run after the global ones.
    filters: list[HubFilter]


class _AppState:
    """What the extension keeps per app, in ``app.extensions["signalr"]``."""

    def __init__(self, extension: SignalR, app: Flask, options: SignalROptions) -> None:
        self.extension = extension
        self.app = app
        self.options = options
        self.endpoints: dict[str, HubEndpoint] = {}
        #: With a backplane, any server must be able to verify a token another one issued.
        self.token_signer: TokenSigner | None = None
        #: Hosted services running for this app (singletons wrapped in their lease).
        self.services: list[HostedService | LeasedService] = []

    def map_hub(self, mapping: _HubMapping) -> None:
        path, hub_class = mapping.path, mapping.hub_class
        if path in self.endpoints:
            raise ValueError(f"A hub is already mapped to {path!r}.")
        if self.token_signer is None:
            self.token_signer = _cluster_token_signer(self.app, self.options)
        endpoint = HubEndpoint(
            path,
            hub_class,
            self.options,
            lambda user, role: self.extension._role_checker(user, role),
            lambda user: self.extension._user_id_provider(user),
            self.extension._filters + mapping.filters,
            self.token_signer,
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


def _cluster_token_signer(app: Flask, options: SignalROptions) -> TokenSigner | None:
    if options.redis_url is None:
        return None
    if not app.secret_key:
        raise ValueError(
            "The Redis backplane needs app.secret_key (the same on every server) so that any "
            "server can verify the connection tokens another one issued."
        )
    return TokenSigner(app.secret_key)


class SignalR:
    """SignalR hubs for a Flask app.

    ``SignalR(app, **options)`` or ``SignalR(**options)`` then ``init_app(app)``; every option
    can also come from ``app.config["SIGNALR_<NAME>"]`` (a keyword wins).
    """

    _instances: ClassVar[weakref.WeakSet[SignalR]] = weakref.WeakSet()

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        resolve_options(options, {})  # fail fast on unknown names and bad values
        self._options = options
        self._hubs: list[_HubMapping] = []
        self._filters: list[HubFilter] = []
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        self._role_checker: RoleChecker = default_role_checker
        self._user_id_provider: UserIdProvider = default_user_id_provider
        self._services: list[tuple[type[HostedService], bool]] = []
        SignalR._instances.add(self)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Attach to ``app``: resolve options and register every hub mapped so far."""
        state = _AppState(self, app, resolve_options(self._options, app.config))
        app.extensions[_EXTENSION_KEY] = state
        self._apps.add(app)
        for mapping in self._hubs:
            state.map_hub(mapping)

    # -- hubs ---------------------------------------------------------------------------------

    def hub(
        self, path: str, filters: Sequence[HubFilter | type[HubFilter]] = ()
    ) -> Callable[[_H], _H]:
        """Class decorator: ``@signalr.hub("/hubs/chat")`` maps the hub at ``path``."""

        def decorate(hub_class: _H) -> _H:
            self.map_hub(path, hub_class, filters)
            return hub_class

        return decorate

    def map_hub(
        self,
        path: str,
        hub_class: type[Hub[Any]],
        filters: Sequence[HubFilter | type[HubFilter]] = (),
    ) -> None:
        """Serve ``hub_class`` at ``path`` (negotiate at ``path + "/negotiate"``).

        ``filters`` wrap this hub's calls, inside the filters added with :meth:`add_filter`.
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"Hub paths must start with '/', got {path!r}.")
        if any(existing.path == path for existing in self._hubs):
            raise ValueError(f"A hub is already mapped to {path!r}.")
        discover_methods(hub_class)  # refuse a broken hub class now, not at init_app
        mapping = _HubMapping(path, hub_class, [as_filter(f) for f in filters])
        for app in list(self._apps):
            app.extensions[_EXTENSION_KEY].map_hub(mapping)
        self._hubs.append(mapping)

    def add_filter(self, hub_filter: HubFilter | type[HubFilter]) -> None:
        """Wrap every hub's calls in ``hub_filter`` (filters added first run outermost)."""
        self._filters.append(as_filter(hub_filter))
        for app in list(self._apps):
            state: _AppState = app.extensions[_EXTENSION_KEY]
            for mapping in self._hubs:
                endpoint = state.endpoints.get(mapping.path)
                if endpoint is not None:
                    endpoint.dispatcher.set_filters(self._filters + mapping.filters)

    @overload
    def hub_context(self, hub: type[Hub[TClient]]) -> HubContext[TClient]: ...

    @overload
    def hub_context(self, hub: str) -> HubContext[Any]: ...

    def hub_context(self, hub: type[Hub[Any]] | str) -> HubContext[Any]:
        """Clients and groups of a hub (by class or path), usable from views and greenlets."""
        endpoint = self._state().endpoint_for(hub)
        return HubContext(endpoint.manager, endpoint.dispatcher.client_spec)

    # -- identity hooks -----------------------------------------------------------------------

    def role_checker(self, function: RoleChecker) -> RoleChecker:
        """Decorator: replace how ``@authorize(roles=...)`` decides ``user`` holds ``role``."""
        self._role_checker = function
        return function

    def test_client(self, path: str, user: Any = None, **options: Any) -> HubTestClient:
        """A connected in-process client of the hub at ``path``, for tests (no server, no socket).

        ``user`` is the flask-login user the hub sees; ``protocol="messagepack"`` and
        ``headers={...}`` (run through the app's ``request_loader``) are accepted too.
        """
        from flask_signalr.testing import HubTestClient  # imports the client: tests only

        return HubTestClient(self._state().app, path, user, **options)

    def user_id_provider(self, function: UserIdProvider) -> UserIdProvider:
        """Decorator: replace how a user becomes ``context.user_identifier`` (``get_id()``)."""
        self._user_id_provider = function
        return function

    # -- hosted services ----------------------------------------------------------------------

    def add_hosted_service(self, service: type[HostedService], singleton: bool = False) -> None:
        """Run ``service`` while the server runs (started by :meth:`run` or the gunicorn hooks).

        ``singleton=True`` runs it on one server of the cluster at a time (a lease in Redis,
        taken over by another server when the holder dies); without a backplane there is only
        one server, and it simply runs here.
        """
        if not (isinstance(service, type) and issubclass(service, HostedService)):
            raise TypeError(f"{service!r} is not a HostedService subclass.")
        self._services.append((service, singleton))

    def start_hosted_services(self, app: Flask) -> None:
        """Start this app's hosted services (idempotent; :meth:`run` calls it)."""
        state: _AppState = app.extensions[_EXTENSION_KEY]
        if state.services:
            return
        for service_class, singleton in self._services:
            service = service_class()
            service.signalr = self
            service.app = app
            runner: HostedService | LeasedService = service
            if singleton and state.options.redis_url is not None:
                # Imported only with a backplane: redis is not needed (nor imported, which
                # would import ssl before gunicorn's worker patches it) otherwise.
                from flask_signalr.lifetime.lease import LeasedService
                from flask_signalr.lifetime.redis import connect_redis

                runner = LeasedService(
                    service,
                    connect_redis(state.options.redis_url, state.options.redis_db),
                    f"{state.options.channel_prefix}:lease:{service_class.__module__}."
                    f"{service_class.__qualname__}",
                    secrets.token_hex(8),
                )
            runner.start()
            state.services.append(runner)

    def stop_hosted_services(self, app: Flask) -> None:
        """Stop this app's hosted services, last started first."""
        state: _AppState = app.extensions[_EXTENSION_KEY]
        while state.services:
            runner = state.services.pop()
            try:
                runner.stop()
            except Exception:
                logger.exception("Stopping %s failed.", type(runner).__name__)

    # -- serving ------------------------------------------------------------------------------

    def run(
        self, app: Flask, host: str = "127.0.0.1", port: int = 5000, **server_options: Any
    ) -> None:
        """Serve ``app`` (routes and hubs) on a gevent WSGI server until SIGINT or SIGTERM.

        Hosted services start once the server listens and stop on the signal; open
        connections are told to reconnect (to another instance, or to this one restarted).
        Call ``gevent.monkey.patch_all()`` first thing in the program.
        """
        server = _concurrency.WSGIServer((host, port), app, **server_options)
        server.start()
        self.start_hosted_services(app)
        _concurrency.on_stop_signals(lambda: self.shutdown(app, server))
        logger.info("flask_signalr serving on http://%s:%s", host, server.server_port)
        server.serve_forever()

    def shutdown(self, app: Flask, server: Any = None) -> None:
        """Stop hosted services, close every connection (clients may reconnect), stop ``server``."""
        self.stop_hosted_services(app)
        state: _AppState = app.extensions[_EXTENSION_KEY]
        for endpoint in state.endpoints.values():
            endpoint.close_all(reconnect=True)
        if server is not None:
            server.stop(timeout=5)
        for endpoint in state.endpoints.values():
            endpoint.manager.close()

    @classmethod
    def initialized(cls) -> list[tuple[SignalR, Flask]]:
        """Every (extension, app) pair initialised in this process (for server hooks)."""
        return [
            (state.extension, app)
            for extension in list(cls._instances)
            for app in list(extension._apps)
            if (state := app.extensions.get(_EXTENSION_KEY)) is not None
            and state.extension is extension
        ]

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
