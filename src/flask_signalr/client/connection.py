"""``HubConnection``: call hub methods and receive the server's calls, from threads or greenlets.

Three kinds of workers serve one connection, so the application's own thread only ever blocks on
the call it made:

- the transport's *reader* parses what arrives and settles invocations and streams directly,
  without ever running application code, so a result arrives even while a handler runs;
- one *callback worker* runs handlers (``on``) and lifecycle callbacks in arrival order, so a
  handler may itself call ``invoke`` (its answer comes through the reader), and no callback
  ever runs on a caller's thread in the middle of ``invoke``;
- a *keep-alive* worker per transport sends pings and detects a silent server, and a
  *reconnect* worker runs the retry schedule after the connection is lost.

Every transport connection (the first one and each reconnect) is a :class:`Session`; events from
a session that is no longer current are ignored, so a late close of an old transport can never
disturb its successor.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from types import TracebackType
from typing import Any

from flask_signalr.client.connector import Connector
from flask_signalr.client.errors import HubConnectionError
from flask_signalr.client.retry import RetryContext, RetryPolicy
from flask_signalr.client.runtime import THREADS, Event, Runtime, Worker
from flask_signalr.client.session import CallbackWorker, PendingInvocation, Session
from flask_signalr.client.streams import HubStream, StreamSink
from flask_signalr.errors import HubException
from flask_signalr.protocol.base import HubProtocol
from flask_signalr.protocol.errors import ProtocolError
from flask_signalr.protocol.handshake import parse_handshake_response, write_handshake_request
from flask_signalr.protocol.messages import (
    PING,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

logger = logging.getLogger("flask_signalr.client")

Handler = Callable[..., Any]

#: How long ``stop()`` waits for the server to acknowledge the close before dropping the socket.
_CLOSE_TIMEOUT = 5.0
_NO_RESULT = object()


class HubConnectionState(enum.Enum):
    """Where a :class:`HubConnection` is in its life (the .NET and JavaScript client states)."""

    DISCONNECTED = "Disconnected"
    CONNECTING = "Connecting"
    CONNECTED = "Connected"
    DISCONNECTING = "Disconnecting"
    RECONNECTING = "Reconnecting"


class HubConnection:
    """A connection to one hub; build it with :class:`~flask_signalr.client.HubConnectionBuilder`.

    Every method is safe to call from any thread (or greenlet). Handlers registered with
    :meth:`on` and the lifecycle callbacks run on one background worker, in the order the
    messages arrived.
    """

    def __init__(
        self,
        connector: Connector,
        protocol: HubProtocol,
        *,
        retry_policy: RetryPolicy | None = None,
        server_timeout: float = 30.0,
        keep_alive_interval: float = 15.0,
        runtime: Runtime = THREADS,
    ) -> None:
        self._connector = connector
        self._protocol = protocol
        self._retry_policy = retry_policy
        self._server_timeout = server_timeout
        self._keep_alive_interval = keep_alive_interval
        self._runtime = runtime
        self._lock = runtime.lock()
        self._state = HubConnectionState.DISCONNECTED
        self._session: Session | None = None
        self._connection_id: str | None = None
        self._handlers: dict[str, list[Handler]] = {}
        self._reconnecting_callbacks: list[Callable[[BaseException | None], Any]] = []
        self._reconnected_callbacks: list[Callable[[str | None], Any]] = []
        self._close_callbacks: list[Callable[[BaseException | None], Any]] = []
        self._pending: dict[str, PendingInvocation] = {}
        self._streams: dict[str, StreamSink] = {}
        # One counter for invocation and stream ids, never reset (as the JavaScript client).
        self._ids = itertools.count()
        self._callbacks: CallbackWorker | None = None
        self._reconnector: Worker | None = None
        self._stop_requested = runtime.event()
        self._stopped = runtime.event()
        self._stopped.set()

    # -- properties ---------------------------------------------------------------------------

    @property
    def state(self) -> HubConnectionState:
        return self._state

    @property
    def connection_id(self) -> str | None:
        """The id the server knows this connection by (None before start and after stop).

        It changes on every reconnect; with ``skip_negotiation`` the server never tells it.
        """
        return self._connection_id

    # -- handlers and callbacks ---------------------------------------------------------------

    def on(self, method: str, handler: Handler) -> None:
        """Call ``handler(*arguments)`` whenever the server invokes ``method``.

        Names match case-insensitively. When the server waits for a result (a client result),
        the handler's return value is the answer; if it raises, the server gets ``str(exc)``
        as the error. Several handlers may share a name: all run, in registration order.
        """
        with self._lock:
            self._handlers.setdefault(method.lower(), []).append(handler)

    def off(self, method: str, handler: Handler | None = None) -> None:
        """Remove ``handler`` for ``method``, or every handler of ``method``."""
        with self._lock:
            handlers = self._handlers.get(method.lower())
            if handlers is None:
                return
            if handler is None:
                handlers.clear()
            else:
                with contextlib.suppress(ValueError):
                    handlers.remove(handler)
            if not handlers:
                del self._handlers[method.lower()]

    def on_reconnecting(self, callback: Callable[[BaseException | None], Any]) -> None:
        """``callback(error)`` when the connection is lost and automatic reconnect begins."""
        self._reconnecting_callbacks.append(callback)

    def on_reconnected(self, callback: Callable[[str | None], Any]) -> None:
        """``callback(connection_id)`` after a successful reconnect (a new connection id).

        Group memberships belong to the old connection: rejoin them here.
        """
        self._reconnected_callbacks.append(callback)

    def on_close(self, callback: Callable[[BaseException | None], Any]) -> None:
        """``callback(error)`` when the connection ends for good (``None`` after ``stop()``)."""
        self._close_callbacks.append(callback)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect: negotiate, open a transport, handshake. Raises if that fails."""
        with self._lock:
            if self._state is not HubConnectionState.DISCONNECTED:
                raise RuntimeError(
                    "Cannot start a HubConnection that is not in the 'Disconnected' state; "
                    f"it is '{self._state.value}'."
                )
            self._state = HubConnectionState.CONNECTING
            self._stop_requested = self._runtime.event()
            self._stopped = self._runtime.event()
            self._callbacks = CallbackWorker(self._runtime)
        try:
            self._open_session()
        except BaseException:
            with self._lock:
                callbacks = self._finish(None, notify=False)
            callbacks.join()
            raise

    def stop(self) -> None:
        """Close the connection (ends a reconnect in progress too); ``on_close`` has run after.

        Invocations still waiting fail with :class:`HubConnectionError`.
        """
        with self._lock:
            state = self._state
            if state is HubConnectionState.DISCONNECTED:
                return
            stopped = self._stopped
            session = self._session
            reconnector = self._reconnector
            self._stop_requested.set()
            if state in (HubConnectionState.CONNECTED, HubConnectionState.RECONNECTING):
                self._state = HubConnectionState.DISCONNECTING
        if state is HubConnectionState.CONNECTING:
            # start() is running: make its attempt fail fast; it cleans up and returns.
            if session is not None and session.transport is not None:
                session.transport.abort()
            stopped.wait()
            return
        if state is HubConnectionState.DISCONNECTING:
            stopped.wait()  # another stop() is already at work
            return
        if session is not None:
            self._close_session(session)
        if reconnector is not None:
            reconnector.join()
        with self._lock:
            callbacks = self._finish(None, notify=True)
        callbacks.join()

    def __enter__(self) -> HubConnection:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- calling the hub ----------------------------------------------------------------------

    def send(self, method: str, *args: Any) -> None:
        """Invoke ``method`` on the hub without waiting for it (no result, no error).

        An iterator or generator argument is streamed to the hub (a client-to-server stream).
        """
        arguments, uploads = self._split_uploads(args)
        data = self._protocol.write_message(
            InvocationMessage(method, arguments, None, tuple(sid for sid, _ in uploads))
        )
        session = self._connected_session()
        session.write(data)
        self._start_uploads(session, uploads)

    def invoke(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        """Invoke ``method`` on the hub and return its result.

        Raises :class:`~flask_signalr.HubException` with the server's error text,
        :class:`HubConnectionError` if the connection is lost first and :class:`TimeoutError`
        after ``timeout`` seconds (default: wait as long as the connection lives).
        An iterator or generator argument is streamed to the hub.
        """
        arguments, uploads = self._split_uploads(args)
        invocation_id = self._next_id()
        data = self._protocol.write_message(
            InvocationMessage(method, arguments, invocation_id, tuple(sid for sid, _ in uploads))
        )
        pending = PendingInvocation(self._runtime.event())
        with self._lock:
            session = self._connected_session()
            self._pending[invocation_id] = pending
        try:
            session.write(data)
        except BaseException:
            with self._lock:
                self._pending.pop(invocation_id, None)
            raise
        self._start_uploads(session, uploads)
        if not pending.done.wait(timeout):
            with self._lock:
                self._pending.pop(invocation_id, None)
            raise TimeoutError(f"Invocation of '{method}' did not complete within {timeout} s.")
        if pending.error is not None:
            raise pending.error
        return pending.result

    def stream(self, method: str, *args: Any) -> HubStream:
        """Start a streaming hub method; iterate the result for its items.

        Breaking out of the loop, ``close()`` or leaving a ``with`` block cancels the stream on
        the server. An iterator or generator argument is streamed to the hub.
        """
        arguments, uploads = self._split_uploads(args)
        invocation_id = self._next_id()
        data = self._protocol.write_message(
            StreamInvocationMessage(
                invocation_id, method, arguments, tuple(sid for sid, _ in uploads)
            )
        )
        queue = self._runtime.queue()
        with self._lock:
            session = self._connected_session()
            self._streams[invocation_id] = StreamSink(queue)
        try:
            session.write(data)
        except BaseException:
            with self._lock:
                self._streams.pop(invocation_id, None)
            raise
        self._start_uploads(session, uploads)
        return HubStream(invocation_id, queue, self._cancel_stream)

    # -- hooks --------------------------------------------------------------------------------

    def _invocation_received(self, message: InvocationMessage) -> None:
        """Called on the reader, in arrival order, for every invocation from the server."""

    def _flush_callbacks(self) -> None:
        """Wait until the callbacks posted so far have run (not from the callback worker)."""
        with self._lock:
            callbacks = self._callbacks
            if callbacks is None or callbacks.finished or callbacks.is_current():
                return
            done = self._runtime.event()
            callbacks.post(done.set)
        done.wait()

    # -- sessions -----------------------------------------------------------------------------

    def _open_session(self) -> Session:
        """Connect a transport and complete the handshake; the state becomes Connected."""
        session = Session(self._runtime)
        connected = self._connector.connect(
            self._protocol.transfer_format,
            partial(self._receive, session),
            partial(self._transport_closed, session),
        )
        session.transport = connected.transport
        session.connection_id = connected.connection_id
        with self._lock:
            if self._stop_requested.is_set():
                connected.transport.abort()
                raise HubConnectionError("The connection was stopped while connecting.")
            self._session = session
        try:
            session.write(write_handshake_request(self._protocol.name))
            if not session.handshake_done.wait(self._server_timeout):
                raise HubConnectionError(
                    "Timed out waiting for the handshake response from the server."
                )
            if session.handshake_error is not None:
                raise HubConnectionError(
                    f"Server returned handshake error: {session.handshake_error}"
                )
            if not session.handshake_received:
                raise HubConnectionError(
                    "The connection closed before the handshake completed."
                ) from session.close_reason()
            with self._lock:
                if self._stop_requested.is_set():
                    raise HubConnectionError("The connection was stopped while connecting.")
                if session.closed.is_set():
                    raise HubConnectionError(
                        "The connection closed right after the handshake."
                    ) from session.close_reason()
                reconnected = self._state is HubConnectionState.RECONNECTING
                self._state = HubConnectionState.CONNECTED
                self._connection_id = session.connection_id
                if reconnected:
                    self._post(partial(_notify, self._reconnected_callbacks, session.connection_id))
        except BaseException:
            with self._lock:
                if self._session is session:
                    self._session = None
            connected.transport.abort()
            raise
        if not connected.transport.inherent_keep_alive:
            with contextlib.suppress(HubConnectionError):
                session.write(self._protocol.write_message(PING))
            self._runtime.spawn(partial(self._keep_alive, session), "signalr-keep-alive")
        return session

    def _close_session(self, session: Session) -> None:
        """Tell the server we leave, close the transport and wait for it to end."""
        if session.transport is None:
            return
        if session.handshake_received and not session.closed.is_set():
            with contextlib.suppress(HubConnectionError):
                session.write(self._protocol.write_message(CloseMessage()))
        session.transport.stop()
        if not session.closed.wait(_CLOSE_TIMEOUT):
            session.transport.abort()
            session.closed.wait(_CLOSE_TIMEOUT)

    def _keep_alive(self, session: Session) -> None:
        """Ping when we have been quiet; give up on a server that has been silent too long."""
        ping = self._protocol.write_message(PING)
        while True:
            now = time.monotonic()
            silent_deadline = session.last_received + self._server_timeout
            ping_due = session.last_sent + self._keep_alive_interval
            if now >= silent_deadline:
                session.fail(
                    HubConnectionError(
                        "Server timeout elapsed without receiving a message from the server."
                    )
                )
                return
            if now >= ping_due:
                try:
                    session.write(ping)
                except HubConnectionError:
                    return  # the transport is ending; its close reports why
                continue
            if session.closed.wait(min(silent_deadline, ping_due) - now):
                return

    def _transport_closed(self, session: Session, error: BaseException | None) -> None:
        """The transport of ``session`` ended (called once, from its reader)."""
        with self._lock:
            session.transport_error = error
            session.closed.set()
            session.handshake_done.set()
            if self._session is not session:
                return  # an attempt in progress or stop() is waiting for this session
            self._session = None
            reason = session.close_reason()
            self._fail_outstanding(reason)
            if self._state is not HubConnectionState.CONNECTED:
                return
            close_message = session.close_message
            if self._retry_policy is not None and (
                close_message is None or close_message.allow_reconnect
            ):
                logger.info("Connection lost (%s); reconnecting.", reason)
                self._state = HubConnectionState.RECONNECTING
                self._post(partial(_notify, self._reconnecting_callbacks, reason))
                self._reconnector = self._runtime.spawn(
                    partial(self._reconnect, reason, self._stop_requested), "signalr-reconnect"
                )
            else:
                self._finish(reason, notify=True)

    def _reconnect(self, reason: BaseException | None, stop_requested: Event) -> None:
        """Run the retry schedule until a reconnect succeeds, the policy gives up or stop()."""
        assert self._retry_policy is not None
        started = time.monotonic()
        attempts = 0
        while True:
            context = RetryContext(attempts, time.monotonic() - started, reason)
            try:
                delay = self._retry_policy.next_retry_delay(context)
            except Exception:
                logger.exception("The retry policy raised; reconnecting stops.")
                delay = None
            if delay is None:
                break
            if stop_requested.wait(delay):
                return
            try:
                self._open_session()
            except Exception as exc:  # noqa: BLE001 - any failed attempt counts as one
                if stop_requested.is_set():
                    return
                attempts += 1
                reason = exc
                logger.info("Reconnect attempt %d failed: %s", attempts, exc)
                continue
            return
        with self._lock:
            if self._state is HubConnectionState.RECONNECTING and not stop_requested.is_set():
                logger.info("Reconnecting gave up after %d attempts.", attempts)
                self._finish(reason, notify=True)

    def _finish(self, reason: BaseException | None, notify: bool) -> CallbackWorker:
        """Become Disconnected (lock held); ``on_close`` is posted when ``notify``."""
        self._state = HubConnectionState.DISCONNECTED
        self._connection_id = None
        self._session = None
        self._fail_outstanding(reason)
        callbacks = self._callbacks
        assert callbacks is not None
        if notify:
            callbacks.post(partial(_notify, self._close_callbacks, reason))
        callbacks.finish()
        self._stopped.set()
        return callbacks

    def _fail_outstanding(self, reason: BaseException | None) -> None:
        """Waiting invocations and streams fail: their answers can no longer arrive."""
        pending, self._pending = self._pending, {}
        streams, self._streams = self._streams, {}
        for waiter in pending.values():
            waiter.fail(_canceled(reason))
        for sink in streams.values():
            sink.end(_canceled(reason))

    # -- receiving ----------------------------------------------------------------------------

    def _receive(self, session: Session, data: bytes) -> None:
        """Bytes from the server (on the transport's reader)."""
        session.last_received = time.monotonic()
        buffer = session.buffer + data if session.buffer else data
        if not session.handshake_received:
            try:
                response, buffer = parse_handshake_response(buffer)
            except ProtocolError as exc:
                session.fail(HubConnectionError(str(exc)))
                return
            if response is None:
                session.buffer = buffer
                return
            session.handshake_received = True
            session.handshake_error = response.error
            session.handshake_done.set()
            if response.error is not None:
                return
        try:
            messages, session.buffer = self._protocol.parse_messages(buffer, 0)
        except ProtocolError as exc:
            session.fail(HubConnectionError(f"The server sent invalid data: {exc}"))
            return
        for message in messages:
            self._dispatch(session, message)

    def _dispatch(self, session: Session, message: HubMessage) -> None:
        if isinstance(message, InvocationMessage):
            self._invocation_received(message)
            self._post(partial(self._run_handlers, session, message))
        elif isinstance(message, StreamItemMessage):
            with self._lock:
                sink = self._streams.get(message.invocation_id)
            if sink is not None:
                sink.item(message.item)
        elif isinstance(message, CompletionMessage):
            with self._lock:
                waiter = self._pending.pop(message.invocation_id, None)
                stream = self._streams.pop(message.invocation_id, None) if waiter is None else None
            if waiter is not None:
                waiter.complete(message)
            elif stream is not None:
                stream.end(HubException(message.error) if message.error is not None else None)
        elif isinstance(message, CloseMessage):
            session.close_message = message
            if not message.allow_reconnect:
                # The server does not want us back: answer its Close, as the JS client does.
                with contextlib.suppress(HubConnectionError):
                    session.write(self._protocol.write_message(CloseMessage()))
            if session.transport is not None:
                session.transport.stop()
        # Pings only prove the server is alive (recorded above); other types are not for clients.

    def _run_handlers(self, session: Session, message: InvocationMessage) -> None:
        """Run the handlers of a server invocation (callback worker); answer if asked to."""
        target = message.target
        with self._lock:
            handlers = list(self._handlers.get(target.lower(), ()))
        if not handlers:
            logger.warning("No client method with the name '%s' found.", target.lower())
        result: Any = _NO_RESULT
        error: str | None = None
        for handler in handlers:
            try:
                value = handler(*message.arguments)
            except Exception as exc:
                logger.exception("A callback for the method '%s' threw error '%s'.", target, exc)
                error = str(exc)
                continue
            if value is not None:
                if result is not _NO_RESULT:
                    error = "Client provided multiple results."
                result = value
        invocation_id = message.invocation_id
        if invocation_id is None:
            if result is not _NO_RESULT:
                logger.error(
                    "Result given for '%s' method but server is not expecting a result.", target
                )
            return
        if error is not None:
            answer = CompletionMessage.with_error(invocation_id, error)
        elif result is _NO_RESULT:
            logger.warning(
                "No result given for '%s' method and invocation ID '%s'.", target, invocation_id
            )
            answer = CompletionMessage.with_error(invocation_id, "Client didn't provide a result.")
        else:
            answer = CompletionMessage.with_result(invocation_id, result)
        try:
            data = self._protocol.write_message(answer)
        except (TypeError, ValueError) as exc:
            logger.error("The result for '%s' cannot be sent: %s", target, exc)
            data = self._protocol.write_message(
                CompletionMessage.with_error(
                    invocation_id, f"Client result not serializable: {exc}"
                )
            )
        try:
            session.write(data)
        except HubConnectionError as exc:
            logger.info("The answer to '%s' was not sent: %s", target, exc)

    # -- sending ------------------------------------------------------------------------------

    def _connected_session(self) -> Session:
        with self._lock:
            session = self._session
            if self._state is not HubConnectionState.CONNECTED or session is None:
                raise HubConnectionError(
                    "Cannot send data if the connection is not in the 'Connected' state; "
                    f"it is '{self._state.value}'."
                )
            return session

    def _next_id(self) -> str:
        with self._lock:
            return str(next(self._ids))

    def _post(self, callback: Callable[[], None]) -> None:
        callbacks = self._callbacks
        if callbacks is not None:
            callbacks.post(callback)

    def _cancel_stream(self, invocation_id: str) -> None:
        with self._lock:
            sink = self._streams.pop(invocation_id, None)
            session = self._session if self._state is HubConnectionState.CONNECTED else None
        if sink is None or session is None:
            return
        with contextlib.suppress(HubConnectionError):
            session.write(self._protocol.write_message(CancelInvocationMessage(invocation_id)))

    # -- upload streams -----------------------------------------------------------------------

    def _split_uploads(self, args: tuple[Any, ...]) -> tuple[list[Any], list[tuple[str, Any]]]:
        """Separate iterator arguments (streamed to the hub) from plain ones."""
        arguments: list[Any] = []
        uploads: list[tuple[str, Any]] = []
        for value in args:
            if isinstance(value, Iterator):
                uploads.append((self._next_id(), value))
            else:
                arguments.append(value)
        return arguments, uploads

    def _start_uploads(self, session: Session, uploads: list[tuple[str, Any]]) -> None:
        for stream_id, items in uploads:
            self._runtime.spawn(partial(self._pump, session, stream_id, items), "signalr-upload")

    def _pump(self, session: Session, stream_id: str, items: Iterator[Any]) -> None:
        """Send every item of an upload stream, then its Completion (with the error, if any)."""
        protocol = self._protocol
        try:
            for item in items:
                session.write(protocol.write_message(StreamItemMessage(stream_id, item)))
            end = CompletionMessage(stream_id)
        except HubConnectionError:
            return  # the connection is gone; the server ends the invocation itself
        except Exception as exc:  # noqa: BLE001 - the source failed: tell the hub why
            logger.info("Upload stream %s failed: %s", stream_id, exc)
            end = CompletionMessage.with_error(stream_id, str(exc))
        finally:
            close = getattr(items, "close", None)
            if callable(close):
                close()
        with contextlib.suppress(HubConnectionError):
            session.write(protocol.write_message(end))


def _canceled(reason: BaseException | None) -> HubConnectionError:
    error = HubConnectionError("Invocation canceled due to the underlying connection being closed.")
    error.__cause__ = reason
    return error


def _notify(callbacks: list[Callable[[Any], Any]], value: Any) -> None:
    """Call every registered lifecycle callback; one that raises does not stop the others."""
    for callback in list(callbacks):
        try:
            callback(value)
        except Exception:
            logger.exception("A HubConnection lifecycle callback raised an exception.")
