"""One mapped hub in one app: its manager, dispatcher, connections and keep-alive clock.

Keep-alive pings, client timeouts, handshake timeouts and reservation expiry are checked by a
single greenlet per hub, started with the first connection (so it starts after a gunicorn fork),
rather than by timers per connection: idle connections then cost no greenlet of their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from flask_signalr import _concurrency
from flask_signalr.auth import RoleChecker, UserIdProvider
from flask_signalr.filters import HubFilter
from flask_signalr.hub import Hub
from flask_signalr.lifetime import create_manager
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.options import SignalROptions
from flask_signalr.protocol import protocols_by_name
from flask_signalr.protocol.handshake import HANDSHAKE_CANCELED
from flask_signalr.protocol.messages import CloseMessage
from flask_signalr.server import error_texts
from flask_signalr.server.connection import ConnectionState, HubConnection
from flask_signalr.server.dispatcher import HubDispatcher
from flask_signalr.server.handler import ConnectionHandler
from flask_signalr.server.registry import ConnectionRegistry
from flask_signalr.server.tokens import TokenSigner

logger = logging.getLogger("flask_signalr")

_CLIENT_TIMEOUT_DETAIL = (
    "Client hasn't sent a message/ping within the configured client_timeout_interval."
)


class HubEndpoint:
    """Everything the server keeps for one hub path of one app."""

    def __init__(
        self,
        path: str,
        hub_class: type[Hub[Any]],
        options: SignalROptions,
        role_checker: RoleChecker,
        user_id_provider: UserIdProvider,
        filters: Sequence[HubFilter] = (),
        token_signer: TokenSigner | None = None,
    ) -> None:
        self.path = path
        self.hub_class = hub_class
        self.options = options
        self.role_checker = role_checker
        self.user_id_provider = user_id_provider
        self.protocols = protocols_by_name(options.protocols)
        self.manager: HubLifetimeManager = create_manager(
            options, hub_class.__name__, self.protocols
        )
        self.dispatcher = HubDispatcher(
            hub_class, self.manager, role_checker, options.enable_detailed_errors, filters
        )
        self.handler = ConnectionHandler(
            self.protocols,
            self.dispatcher,
            self.manager,
            options.maximum_receive_message_size or 0,
            options.enable_detailed_errors,
        )
        self.registry = ConnectionRegistry(
            options.disconnect_timeout,
            token_signer,
            self.manager.claim_connection_token if token_signer is not None else None,
        )
        self._clock: Any = None
        self._tick = min(
            1.0,
            options.keep_alive_interval / 4,
            options.client_timeout_interval / 4,
            options.handshake_timeout / 4,
        )

    def run_connection(self, token: str, connection: HubConnection, run: Any) -> None:
        """Register ``connection``, run its transport's read loop, clean up however it ends."""
        self._register(token, connection)
        self._serve(token, connection, run)

    def start_connection(self, token: str, connection: HubConnection, run: Any) -> None:
        """Register ``connection`` now and run its read loop in a greenlet of its own.

        For transports whose requests end while the connection lives on (long polling): the
        connection is known before the request that opened it answers.
        """
        self._register(token, connection)
        _concurrency.spawn(self._serve, token, connection, run)

    def _register(self, token: str, connection: HubConnection) -> None:
        self.registry.activate(token, connection)
        self._ensure_clock()

    def _serve(self, token: str, connection: HubConnection, run: Any) -> None:
        error: BaseException | None = None
        try:
            error = run(lambda data: self.handler.receive(connection, data))
        except Exception as exc:  # a bug in a transport must not leave the connection behind
            logger.exception("Transport failure on connection %s.", connection.connection_id)
            error = exc
        finally:
            try:
                self.handler.ended(connection, error)
            finally:
                self.registry.release(token)

    def close_all(self, reconnect: bool = True) -> None:
        """Tell every client the server is going away (server shutdown)."""
        if self._clock is not None:
            _concurrency.kill(self._clock)
        for connection in self.registry.active_connections():
            if connection.state is ConnectionState.CONNECTED:
                connection.close(CloseMessage(allow_reconnect=reconnect))
            else:
                connection.close()

    # -- clock --------------------------------------------------------------------------------

    def _ensure_clock(self) -> None:
        if self._clock is None or self._clock.dead:
            self._clock = _concurrency.spawn(self._run_clock)

    def _run_clock(self) -> None:
        # Runs while there are connections; the next connection starts it again.
        while self.registry.active_count():
            _concurrency.sleep(self._tick)
            try:
                self.check_timers(time.monotonic())
            except Exception:
                logger.exception("Keep-alive check of hub %s failed.", self.path)

    def check_timers(self, now: float) -> None:
        """Send due pings and drop connections whose handshake or client went silent."""
        options = self.options
        self.registry.expire_reservations()
        for connection in self.registry.active_connections():
            connection.invocations.retire_idle(now)
            if connection.closing:
                continue
            if connection.state is ConnectionState.HANDSHAKE:
                if now - connection.started_at > options.handshake_timeout:
                    self.handler.refuse_handshake(connection, HANDSHAKE_CANCELED)
            elif connection.state is ConnectionState.CONNECTED and connection.supports_pings:
                if now - connection.last_received > options.client_timeout_interval:
                    self._drop_silent_client(connection)
                elif now - connection.last_sent >= options.keep_alive_interval:
                    connection.send_ping()

    def _drop_silent_client(self, connection: HubConnection) -> None:
        logger.info(
            "Connection %s sent nothing for %ss; closing it.",
            connection.connection_id,
            self.options.client_timeout_interval,
        )
        reason = TimeoutError(_CLIENT_TIMEOUT_DETAIL)
        connection.abort_reason = reason
        connection.close(
            CloseMessage(
                error_texts.with_detail(
                    error_texts.CONNECTION_CLOSED_WITH_ERROR,
                    reason,
                    self.options.enable_detailed_errors,
                ),
                allow_reconnect=True,
            )
        )
