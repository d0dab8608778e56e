"""Turn incoming hub messages into hub method calls and their answers.

The dispatcher runs in the connection's reader greenlet and must not block it: every invocation
runs in a greenlet of its own, at most ``maximum_parallel_invocations_per_client`` at a time per
connection (later ones wait their turn in arrival order), so the reader keeps receiving pings,
cancellations and client results while hub code runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask_signalr import _concurrency
from flask_signalr.auth import AuthorizationResult, RoleChecker, check_requirements
from flask_signalr.clients import GroupManager, HubCallerClients
from flask_signalr.context import HubCallerContext
from flask_signalr.errors import HubException
from flask_signalr.hub import Hub
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.messages import (
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    PingMessage,
    StreamInvocationMessage,
)
from flask_signalr.server import error_texts
from flask_signalr.server.connection import HubConnection
from flask_signalr.server.methods import HubMethod, discover_methods, normalize

logger = logging.getLogger("flask_signalr")


class HubDispatcher:
    """Calls one hub class's methods and lifecycle hooks for its connections."""

    def __init__(
        self,
        hub_class: type[Hub[Any]],
        manager: HubLifetimeManager,
        role_checker: RoleChecker,
        detailed_errors: bool,
    ) -> None:
        self.hub_class = hub_class
        self.methods = discover_methods(hub_class)
        self._manager = manager
        self._groups = GroupManager(manager)
        self._role_checker = role_checker
        self._detailed_errors = detailed_errors

    # -- lifecycle ----------------------------------------------------------------------------

    def on_connected(self, connection: HubConnection) -> None:
        """Run the hub's ``on_connected``; exceptions propagate (the handler closes)."""
        with connection.scope.activate():
            self._make_hub(connection).on_connected()

    def on_disconnected(self, connection: HubConnection, exception: BaseException | None) -> None:
        try:
            with connection.scope.activate():
                self._make_hub(connection).on_disconnected(exception)
        except Exception:
            logger.exception(
                "Error in %s.on_disconnected for connection %s.",
                self.hub_class.__name__,
                connection.connection_id,
            )

    # -- messages -----------------------------------------------------------------------------

    def dispatch(self, connection: HubConnection, message: HubMessage) -> None:
        """Handle one message from the client (called from the reader greenlet)."""
        if isinstance(message, InvocationMessage):
            self._start_invocation(connection, message)
        elif isinstance(message, StreamInvocationMessage):
            self._fail(
                connection,
                message.invocation_id,
                self._streaming_refusal(message.target),
            )
        elif isinstance(message, PingMessage):
            connection.client_pinged = True
        # Other client messages (stream items, completions, cancellations, acks) carry
        # nothing for a hub without streams or client results; they are ignored.

    def _streaming_refusal(self, target: str) -> str:
        method = self.methods.get(normalize(target))
        if method is None:
            return error_texts.method_does_not_exist(target)
        return error_texts.plain_method_streamed(target)

    def _start_invocation(self, connection: HubConnection, message: InvocationMessage) -> None:
        target = message.target
        method = self.methods.get(normalize(target))
        if method is None:
            self._fail(connection, message.invocation_id, error_texts.method_does_not_exist(target))
            return
        verdict = check_requirements(connection.user, method.requirements, self._role_checker)
        if verdict is not AuthorizationResult.ALLOWED:
            self._fail(connection, message.invocation_id, error_texts.unauthorized(target))
            return
        if method.is_stream:
            self._fail(
                connection,
                message.invocation_id,
                error_texts.streaming_method_not_streamed(target),
            )
            return
        try:
            arguments = method.signature.bind(message.arguments)
        except error_texts.InvalidDataException as exc:
            self._fail(
                connection,
                message.invocation_id,
                error_texts.with_detail(
                    error_texts.binding_failed(target), exc, self._detailed_errors
                ),
            )
            return
        _concurrency.spawn(
            self._invoke, connection, method, target, arguments, message.invocation_id
        )

    def _invoke(
        self,
        connection: HubConnection,
        method: HubMethod,
        target: str,
        arguments: Sequence[Any],
        invocation_id: str | None,
    ) -> None:
        with connection.invocation_slots:
            if connection.aborted.is_set():
                return
            try:
                with connection.scope.activate():
                    result = method.function(self._make_hub(connection), *arguments)
            except Exception as exc:  # noqa: BLE001 - user code; becomes an error completion
                self._report_failure(connection, target, invocation_id, exc)
                return
        if invocation_id is None:
            return
        try:
            connection.send_message(CompletionMessage.with_result(invocation_id, result))
        except (TypeError, ValueError) as exc:
            # The result cannot be encoded in this connection's protocol.
            self._report_failure(connection, target, invocation_id, exc)

    def _report_failure(
        self,
        connection: HubConnection,
        target: str,
        invocation_id: str | None,
        exception: Exception,
    ) -> None:
        if not isinstance(exception, HubException):
            logger.error(
                "Failed to invoke hub method '%s' for connection %s.",
                target,
                connection.connection_id,
                exc_info=exception,
            )
        self._fail(
            connection,
            invocation_id,
            error_texts.with_detail(
                error_texts.invocation_failed(target), exception, self._detailed_errors
            ),
        )

    @staticmethod
    def _fail(connection: HubConnection, invocation_id: str | None, error: str) -> None:
        """Answer with an error Completion; non-blocking invocations get no answer at all."""
        if invocation_id is not None:
            connection.send_message(CompletionMessage.with_error(invocation_id, error))

    def _make_hub(self, connection: HubConnection) -> Hub[Any]:
        hub = self.hub_class()
        hub.clients = HubCallerClients(self._manager, connection.connection_id)
        hub.groups = self._groups
        hub.context = HubCallerContext(connection)
        return hub
