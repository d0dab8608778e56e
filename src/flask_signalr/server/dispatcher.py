"""Turn incoming hub messages into hub method calls and their answers.

The dispatcher runs in the connection's reader greenlet and must not block it: every invocation
runs in a greenlet of its own, at most ``maximum_parallel_invocations_per_client`` at a time per
connection (later ones wait their turn in arrival order), so the reader keeps receiving pings,
cancellations, upload items and client results while hub code runs. Server-to-client streams
run in their own greenlets too and do not take an invocation slot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from flask_signalr import _concurrency
from flask_signalr.auth import AuthorizationResult, RoleChecker, check_requirements
from flask_signalr.clients import ClientSpec, GroupManager, HubCallerClients, client_spec
from flask_signalr.context import HubCallerContext
from flask_signalr.errors import HubException
from flask_signalr.filters import (
    FilterPipeline,
    HubFilter,
    HubInvocationContext,
    HubLifetimeContext,
    compose,
)
from flask_signalr.hub import Hub, client_type_of
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.messages import (
    CancelInvocationMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from flask_signalr.server import error_texts
from flask_signalr.server.client_results import holding_slot, in_on_connected
from flask_signalr.server.connection import HubConnection
from flask_signalr.server.methods import HubMethod, discover_methods, normalize
from flask_signalr.server.streams import UploadStream

logger = logging.getLogger("flask_signalr")

Call = InvocationMessage | StreamInvocationMessage

#: Bound on remembered spellings, so odd spellings sent on purpose cannot grow memory.
_SPELLINGS_CACHED = 1024


class HubDispatcher:
    """Calls one hub class's methods and lifecycle hooks for its connections."""

    def __init__(
        self,
        hub_class: type[Hub[Any]],
        manager: HubLifetimeManager,
        role_checker: RoleChecker,
        detailed_errors: bool,
        filters: Sequence[HubFilter] = (),
    ) -> None:
        self.hub_class = hub_class
        self.methods = discover_methods(hub_class)
        #: Targets exactly as clients spell them -> method (saves normalizing every call).
        self._spellings: dict[str, HubMethod] = {}
        client_type = client_type_of(hub_class)
        #: Wire names of the typed client Protocol's methods (None for untyped hubs).
        self.client_spec: ClientSpec | None = client_spec(client_type) if client_type else None
        self._manager = manager
        self._groups = GroupManager(manager)
        self._role_checker = role_checker
        self._detailed_errors = detailed_errors
        self._pipeline: FilterPipeline = compose(filters)

    def set_filters(self, filters: Sequence[HubFilter]) -> None:
        """Replace the filters (composed once here, not per call)."""
        self._pipeline = compose(filters)

    # -- lifecycle ----------------------------------------------------------------------------

    def on_connected(self, connection: HubConnection) -> None:
        """Run the hub's ``on_connected``; exceptions propagate (the handler closes)."""
        connection.scope.run(self._run_on_connected, connection)

    def _run_on_connected(self, connection: HubConnection) -> None:
        with in_on_connected():
            self._pipeline.on_connected(self._lifetime_context(connection))

    def on_disconnected(self, connection: HubConnection, exception: BaseException | None) -> None:
        try:
            connection.scope.run(
                self._pipeline.on_disconnected, self._lifetime_context(connection), exception
            )
        except Exception:
            logger.exception(
                "Error in %s.on_disconnected for connection %s.",
                self.hub_class.__name__,
                connection.connection_id,
            )

    def connection_ended(self, connection: HubConnection) -> None:
        """Stop what still runs for a connection that is gone."""
        connection.invocations.close()
        connection.client_results.fail_all(connection.connection_id)
        for stream in list(connection.streams.values()):
            _concurrency.kill(stream, GeneratorExit)
        connection.streams.clear()
        for upload in list(connection.uploads.values()):
            upload.complete(HubException("The connection ended before the stream completed."))
        connection.uploads.clear()

    # -- messages -----------------------------------------------------------------------------

    def dispatch(self, connection: HubConnection, message: HubMessage) -> None:
        """Handle one message from the client (called from the reader greenlet)."""
        if isinstance(message, InvocationMessage):
            self._start(connection, message, streaming=False)
        elif isinstance(message, StreamInvocationMessage):
            self._start(connection, message, streaming=True)
        elif isinstance(message, StreamItemMessage):
            upload = connection.uploads.get(message.invocation_id)
            if upload is not None:  # items of unknown streams are ignored, as in ASP.NET
                upload.put(message.item)
        elif isinstance(message, CompletionMessage):
            self._complete(connection, message)
        elif isinstance(message, CancelInvocationMessage):
            stream = connection.streams.pop(message.invocation_id, None)
            if stream is not None:
                _concurrency.kill(stream, GeneratorExit)
        # Pings only prove liveness (already recorded); Ack/Sequence need stateful reconnect.

    def _complete(self, connection: HubConnection, message: CompletionMessage) -> None:
        upload = connection.uploads.pop(message.invocation_id, None)
        if upload is not None:
            upload.complete(message.error)
        elif not connection.client_results.complete(message):
            logger.debug(
                "Ignoring a completion for unknown id %r from connection %s.",
                message.invocation_id,
                connection.connection_id,
            )

    def _start(self, connection: HubConnection, message: Call, streaming: bool) -> None:
        target, invocation_id = message.target, message.invocation_id
        method = self._resolve(connection, message, streaming)
        if method is None:
            return
        expected_streams = len(method.signature.stream_positions)
        if len(message.stream_ids) != expected_streams:
            self._fail(
                connection,
                invocation_id,
                error_texts.with_detail(
                    error_texts.invocation_failed(target),
                    HubException(
                        f"Client sent {len(message.stream_ids)} stream(s), "
                        f"Hub method expects {expected_streams}."
                    ),
                    self._detailed_errors,
                ),
            )
            return
        try:
            values = method.signature.bind(message.arguments)
        except error_texts.InvalidDataException as exc:
            self._fail(
                connection,
                invocation_id,
                error_texts.with_detail(
                    error_texts.binding_failed(target), exc, self._detailed_errors
                ),
            )
            return
        uploads: list[UploadStream] = []
        arguments = values
        if message.stream_ids:
            uploads = [
                UploadStream(stream_id, check)
                for stream_id, check in zip(
                    message.stream_ids, method.signature.stream_item_checks, strict=True
                )
            ]
            for upload in uploads:
                connection.uploads[upload.stream_id] = upload
            arguments = method.signature.merge(values, uploads)
        if streaming:
            assert invocation_id is not None
            connection.streams[invocation_id] = _concurrency.spawn(
                self._stream, connection, method, target, arguments, invocation_id, uploads
            )
        else:
            connection.invocations.submit(
                partial(self._invoke, connection, method, target, arguments, invocation_id, uploads)
            )

    def _resolve(
        self, connection: HubConnection, message: Call, streaming: bool
    ) -> HubMethod | None:
        """The method a call names, or None after answering why it cannot run."""
        target, invocation_id = message.target, message.invocation_id
        method = self._spellings.get(target)
        if method is None:
            method = self.methods.get(normalize(target))
            if method is not None and len(self._spellings) < _SPELLINGS_CACHED:
                self._spellings[target] = method
        if method is None:
            error = error_texts.method_does_not_exist(target)
        elif (
            method.requirements
            and check_requirements(connection.user, method.requirements, self._role_checker)
            is not AuthorizationResult.ALLOWED
        ):
            error = error_texts.unauthorized(target)
        elif method.is_stream and not streaming:
            error = error_texts.streaming_method_not_streamed(target)
        elif streaming and not method.is_stream:
            error = error_texts.plain_method_streamed(target)
        elif streaming and invocation_id in connection.streams:
            assert invocation_id is not None
            error = error_texts.invocation_id_in_use(invocation_id)
        else:
            return method
        self._fail(connection, invocation_id, error)
        return None

    def _invoke(
        self,
        connection: HubConnection,
        method: HubMethod,
        target: str,
        arguments: list[Any],
        invocation_id: str | None,
        uploads: list[UploadStream],
    ) -> None:
        with connection.invocation_slots:
            if connection.aborted.is_set():
                return
            try:
                result = connection.scope.run(
                    self._call_holding_slot, connection, method, target, arguments
                )
            except Exception as exc:  # noqa: BLE001 - user code; becomes an error completion
                self._report_failure(connection, target, invocation_id, exc)
                return
            finally:
                self._release_uploads(connection, uploads)
        if invocation_id is None:
            return
        self._manager.wait_sent()
        try:
            connection.send_message(CompletionMessage.with_result(invocation_id, result))
        except (TypeError, ValueError) as exc:
            # The result cannot be encoded in this connection's protocol.
            self._report_failure(connection, target, invocation_id, exc)

    def _stream(
        self,
        connection: HubConnection,
        method: HubMethod,
        target: str,
        arguments: list[Any],
        invocation_id: str,
        uploads: list[UploadStream],
    ) -> None:
        try:
            connection.scope.run(
                self._produce, connection, method, target, arguments, invocation_id
            )
        except GeneratorExit:
            return  # the client canceled the stream (or left): nothing more is sent
        except Exception as exc:  # noqa: BLE001 - user code; ends the stream with an error
            self._report_failure(
                connection, target, invocation_id, exc, error_texts.streaming_failed()
            )
            return
        finally:
            connection.streams.pop(invocation_id, None)
            self._release_uploads(connection, uploads)
        connection.send_message(CompletionMessage(invocation_id))

    def _call_holding_slot(
        self, connection: HubConnection, method: HubMethod, target: str, arguments: list[Any]
    ) -> Any:
        with holding_slot(connection):
            return self._pipeline.invoke(
                self._invocation_context(connection, method, target, arguments)
            )

    def _produce(
        self,
        connection: HubConnection,
        method: HubMethod,
        target: str,
        arguments: list[Any],
        invocation_id: str,
    ) -> None:
        items = self._pipeline.invoke(
            self._invocation_context(connection, method, target, arguments)
        )
        for item in items:
            connection.send_message(StreamItemMessage(invocation_id, item))

    @staticmethod
    def _release_uploads(connection: HubConnection, uploads: list[UploadStream]) -> None:
        """The method returned: still-open upload streams are closed (later items ignored)."""
        for upload in uploads:
            connection.uploads.pop(upload.stream_id, None)
            upload.abandon()

    def _report_failure(
        self,
        connection: HubConnection,
        target: str,
        invocation_id: str | None,
        exception: Exception,
        headline: str | None = None,
    ) -> None:
        """Log an unexpected failure and answer the caller with ``headline`` (+ detail rule)."""
        if not isinstance(exception, HubException):
            logger.error(
                "Hub method '%s' failed for connection %s.",
                target,
                connection.connection_id,
                exc_info=exception,
            )
        self._fail(
            connection,
            invocation_id,
            error_texts.with_detail(
                headline or error_texts.invocation_failed(target), exception, self._detailed_errors
            ),
        )

    @staticmethod
    def _fail(connection: HubConnection, invocation_id: str | None, error: str) -> None:
        """Answer with an error Completion; non-blocking invocations get no answer at all."""
        if invocation_id is not None:
            connection.send_message(CompletionMessage.with_error(invocation_id, error))

    # -- hub instances ------------------------------------------------------------------------

    def _make_hub(self, connection: HubConnection) -> Hub[Any]:
        hub = self.hub_class()
        hub.clients = HubCallerClients(self._manager, connection.connection_id, self.client_spec)
        hub.groups = self._groups
        hub.context = HubCallerContext(connection)
        return hub

    def _invocation_context(
        self, connection: HubConnection, method: HubMethod, target: str, arguments: list[Any]
    ) -> HubInvocationContext:
        hub = self._make_hub(connection)
        return HubInvocationContext(hub.context, hub, target, method.function, arguments)

    def _lifetime_context(self, connection: HubConnection) -> HubLifetimeContext:
        hub = self._make_hub(connection)
        return HubLifetimeContext(hub.context, hub)
