"""Client results: the server invokes a client method and waits for the client's answer.

The waiting greenlet blocks; the connection's reader keeps running and routes the client's
Completion here. While a hub method waits, it gives back its invocation slot (as ASP.NET does),
so a method that calls back its own caller works even with one invocation at a time. Calls from
``on_connected`` are refused: it runs on the reader greenlet, which is the one that would have
to read the answer.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_signalr import _concurrency
from flask_signalr.errors import ConnectionLostError, HubException
from flask_signalr.protocol.messages import CompletionMessage, InvocationMessage

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.server.connection import HubConnection


@dataclass(frozen=True)
class _Activity:
    """What the current greenlet is doing on behalf of a connection."""

    #: The connection whose invocation slot this greenlet holds, if any.
    slot_owner: HubConnection | None
    client_results_allowed: bool


_activity: ContextVar[_Activity | None] = ContextVar("flask_signalr_activity", default=None)


@contextlib.contextmanager
def holding_slot(connection: HubConnection) -> Iterator[None]:
    """Mark the current greenlet as running one of ``connection``'s invocations."""
    token = _activity.set(_Activity(connection, True))
    try:
        yield
    finally:
        _activity.reset(token)


@contextlib.contextmanager
def in_on_connected() -> Iterator[None]:
    """Mark the current greenlet as running ``on_connected`` (no client results there)."""
    token = _activity.set(_Activity(None, False))
    try:
        yield
    finally:
        _activity.reset(token)


#: Called with the client's answer: (error text or None, result) or the connection's end.
Answer = Callable[["str | None", Any, bool], None]


class ClientResults:
    """Pending server-to-client invocations of one connection.

    Each pending id maps to a callback, so an invocation asked by this process (which wakes a
    waiting greenlet) and one asked through the backplane by another node (which publishes the
    answer back) are routed the same way.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Answer] = {}
        # "s" keeps these ids apart from the client's own upload stream ids.
        self._ids = (f"s{number}" for number in itertools.count(1))

    def invoke(
        self, connection: HubConnection, method: str, args: Sequence[Any], timeout: float
    ) -> Any:
        """Invoke ``method`` on the client and return its result.

        Raises :class:`HubException` when the client answers with an error,
        :class:`TimeoutError` after ``timeout`` seconds and :class:`ConnectionLostError` when
        the connection ends first.
        """
        check_client_results_allowed()
        if connection.aborted.is_set():
            raise ConnectionLostError(f"Connection '{connection.connection_id}' disconnected.")
        invocation_id = next(self._ids)
        answer = _concurrency.AsyncResult()
        self.expect(invocation_id, lambda error, result, lost: settle(answer, error, result, lost))
        try:
            connection.send_message(InvocationMessage(method, args, invocation_id))
            return wait_for_answer(answer, timeout, method)
        finally:
            self._pending.pop(invocation_id, None)

    def expect(self, invocation_id: str, on_answer: Answer) -> None:
        """Route the client's Completion for ``invocation_id`` to ``on_answer``."""
        self._pending[invocation_id] = on_answer

    def complete(self, message: CompletionMessage) -> bool:
        """Deliver the client's answer; False if nobody waits for this id."""
        on_answer = self._pending.pop(message.invocation_id, None)
        if on_answer is None:
            return False
        on_answer(message.error, message.result, False)
        return True

    def fail_all(self, connection_id: str) -> None:
        """The connection ended: every waiting caller gets an error instead of hanging."""
        pending, self._pending = self._pending, {}
        for on_answer in pending.values():
            on_answer(f"Connection '{connection_id}' disconnected.", None, True)


def settle(answer: _concurrency.AsyncResult, error: str | None, result: Any, lost: bool) -> None:
    """Resolve a waiting caller's AsyncResult from an answer callback's arguments."""
    if lost:
        answer.set_exception(ConnectionLostError(error))
    elif error is not None:
        answer.set_exception(HubException(error))
    else:
        answer.set(result)


def check_client_results_allowed() -> None:
    activity = _activity.get()
    if activity is not None and not activity.client_results_allowed:
        raise HubException("Client results inside on_connected are not allowed.")


def wait_for_answer(answer: _concurrency.AsyncResult, timeout: float, method: str) -> Any:
    """Wait for a client's answer, giving back the caller's invocation slot meanwhile."""
    activity = _activity.get()
    owner = activity.slot_owner if activity is not None else None
    if owner is not None:  # give the slot (and the worker's place) to the next call
        owner.invocation_slots.release()
        owner.invocations.park()
    try:
        return answer.get(timeout=timeout)
    except _concurrency.Timeout:
        raise TimeoutError(
            f"The client did not answer '{method}' within {timeout} seconds."
        ) from None
    finally:
        if owner is not None:
            owner.invocations.unpark()
            owner.invocation_slots.acquire()
