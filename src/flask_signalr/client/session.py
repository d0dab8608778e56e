"""The state of one transport connection, pending invocations, and the callback worker.

Internal to :mod:`flask_signalr.client.connection`: a :class:`Session` lives from one connect to
its close (a reconnect makes a new one), so nothing of a dead transport leaks into its successor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask_signalr.client.errors import HubConnectionError
from flask_signalr.client.runtime import Event, Runtime
from flask_signalr.client.transports import ClientTransport
from flask_signalr.errors import HubException
from flask_signalr.protocol.messages import CloseMessage, CompletionMessage

logger = logging.getLogger("flask_signalr.client")


class Session:
    """One transport connection, from connect to close."""

    def __init__(self, runtime: Runtime) -> None:
        self.transport: ClientTransport | None = None
        self.connection_id: str | None = None
        #: Received bytes that do not yet form a whole record.
        self.buffer = b""
        self.handshake_received = False
        self.handshake_error: str | None = None
        #: Set once the handshake response arrived or the transport closed.
        self.handshake_done = runtime.event()
        self.closed = runtime.event()
        self.close_message: CloseMessage | None = None
        #: Why the client itself ended the session (server timeout, unreadable data).
        self.failure: BaseException | None = None
        self.transport_error: BaseException | None = None
        now = time.monotonic()
        self.last_received = now
        self.last_sent = now

    def write(self, data: bytes) -> None:
        if self.transport is None:
            raise HubConnectionError("The connection has no transport.")
        self.transport.send(data)
        self.last_sent = time.monotonic()

    def fail(self, error: BaseException) -> None:
        """End the session because of ``error``; the transport's close reports it."""
        if self.failure is None:
            self.failure = error
        if self.transport is not None:
            self.transport.abort()

    def close_reason(self) -> BaseException | None:
        if self.failure is not None:
            return self.failure
        if self.close_message is not None:
            if self.close_message.error:
                return HubConnectionError(
                    f"Server returned an error on close: {self.close_message.error}"
                )
            return None
        return self.transport_error


class PendingInvocation:
    """An ``invoke`` waiting for its Completion."""

    __slots__ = ("done", "error", "result")

    def __init__(self, done: Event) -> None:
        self.done = done
        self.result: Any = None
        self.error: BaseException | None = None

    def complete(self, message: CompletionMessage) -> None:
        if message.error is not None:
            self.error = HubException(message.error)
        else:
            self.result = message.result
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class CallbackWorker:
    """Runs callbacks one at a time, in the order they were posted."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._queue = runtime.queue()
        self._identity: object = None
        self.finished = False
        self._worker = runtime.spawn(self._run, "signalr-callbacks")

    def _run(self) -> None:
        self._identity = self._runtime.current()
        while True:
            callback = self._queue.get()
            if callback is None:
                return
            try:
                callback()
            except Exception:
                logger.exception("A HubConnection callback raised an exception.")

    def post(self, callback: Callable[[], None]) -> None:
        self._queue.put(callback)

    def finish(self) -> None:
        """Let the worker end after the callbacks posted so far."""
        self.finished = True
        self._queue.put(None)

    def is_current(self) -> bool:
        return self._runtime.current() == self._identity

    def join(self) -> None:
        if not self.is_current():
            self._worker.join()
