"""The life of one hub connection, independent of its transport.

Transports call :meth:`ConnectionHandler.receive` with whatever bytes arrive and
:meth:`ConnectionHandler.ended` once, when they stop. In between, the handler runs the
handshake, connects the client to the hub, parses records and hands messages to the dispatcher.
Malformed input ends only that connection, with a Close message that says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.base import HubProtocol, TransferFormat
from flask_signalr.protocol.errors import HandshakeError, ProtocolError
from flask_signalr.protocol.handshake import parse_handshake_request, write_handshake_response
from flask_signalr.protocol.messages import CloseMessage
from flask_signalr.server import error_texts
from flask_signalr.server.connection import ConnectionState, HubConnection
from flask_signalr.server.dispatcher import HubDispatcher

logger = logging.getLogger("flask_signalr")


class ConnectionHandler:
    """Drives connections of one hub from handshake to cleanup."""

    def __init__(
        self,
        protocols: Mapping[str, HubProtocol],
        dispatcher: HubDispatcher,
        manager: HubLifetimeManager,
        max_message_size: int,
        detailed_errors: bool,
    ) -> None:
        self._protocols = protocols
        self._dispatcher = dispatcher
        self._manager = manager
        self._max_message_size = max_message_size
        self._detailed_errors = detailed_errors

    def receive(self, connection: HubConnection, data: bytes) -> None:
        """Process bytes from the client: handshake first, then hub messages."""
        if connection.closing or not data:
            return
        connection.last_received = time.monotonic()
        buffer = connection.input_buffer + data if connection.input_buffer else data
        if connection.state is ConnectionState.HANDSHAKE:
            remainder = self._handshake(connection, buffer)
            if remainder is None:
                return
            buffer = remainder
        try:
            messages, connection.input_buffer = connection.protocol.parse_messages(
                buffer, self._max_message_size
            )
        except ProtocolError as exc:
            self._close_for_bad_input(connection, exc)
            return
        for message in messages:
            if isinstance(message, CloseMessage):
                connection.close(CloseMessage())  # acknowledge, as ASP.NET does
                return
            self._dispatcher.dispatch(connection, message)
            if connection.closing:
                return

    def _handshake(self, connection: HubConnection, buffer: bytes) -> bytes | None:
        """Complete the handshake if ``buffer`` holds it; return the bytes after it."""
        try:
            request, rest = parse_handshake_request(buffer, self._max_message_size)
            if request is None:
                connection.input_buffer = buffer
                return None
            protocol = self._protocols.get(request.protocol)
            if protocol is None:
                raise HandshakeError(f"The protocol '{request.protocol}' is not supported.")
            if not protocol.is_version_supported(request.version):
                raise HandshakeError(
                    f"The server does not support version {request.version} of the "
                    f"'{request.protocol}' protocol."
                )
            if (
                protocol.transfer_format is TransferFormat.BINARY
                and not connection.transport.supports_binary
            ):
                raise HandshakeError(
                    f"Cannot use the '{protocol.name}' protocol on the current transport. "
                    "The transport does not support 'Binary' transfer format."
                )
        except HandshakeError as exc:
            self.refuse_handshake(connection, str(exc))
            return None
        connection.input_buffer = b""
        connection.start_protocol(protocol)
        connection.send_raw_record(write_handshake_response())
        connection.state = ConnectionState.CONNECTED
        self._manager.on_connected(connection)
        try:
            self._dispatcher.on_connected(connection)
        except Exception as exc:
            logger.exception(
                "Error in %s.on_connected for connection %s; closing it.",
                self._dispatcher.hub_class.__name__,
                connection.connection_id,
            )
            connection.close(
                CloseMessage(
                    error_texts.with_detail(
                        error_texts.CONNECTION_CLOSED_WITH_ERROR, exc, self._detailed_errors
                    )
                )
            )
            return None
        connection.hub_connected = True
        return rest

    @staticmethod
    def refuse_handshake(connection: HubConnection, error: str) -> None:
        """Answer the handshake with ``error`` and close."""
        logger.info("Handshake of connection %s refused: %s", connection.connection_id, error)
        connection.send_raw_record(write_handshake_response(error))
        connection.close()

    def _close_for_bad_input(self, connection: HubConnection, exc: ProtocolError) -> None:
        logger.info(
            "Closing connection %s: it sent an invalid message (%s).", connection.connection_id, exc
        )
        detail = error_texts.InvalidDataException(str(exc))
        connection.abort_reason = exc
        connection.close(
            CloseMessage(
                error_texts.with_detail(
                    error_texts.CONNECTION_CLOSED_WITH_ERROR, detail, self._detailed_errors
                ),
                allow_reconnect=True,
            )
        )

    def ended(self, connection: HubConnection, error: BaseException | None = None) -> None:
        """The transport is gone: run ``on_disconnected`` and forget the connection.

        ``error`` is the transport's reason for an abnormal end; a reason recorded by the server
        (client timeout, bad input, overflow) takes precedence.
        """
        was_connected = connection.state is ConnectionState.CONNECTED
        if not connection.mark_closed():
            return
        exception = connection.abort_reason or error
        self._dispatcher.connection_ended(connection)
        try:
            if connection.hub_connected:
                self._dispatcher.on_disconnected(connection, exception)
        finally:
            if was_connected:
                self._manager.on_disconnected(connection)
            connection.scope.close()
