"""The long-polling transport: the client fetches server-to-client bytes with repeated GETs.

A connection outlives every request it is made of, so it runs in a greenlet of its own that
just waits for the end: a poll answered 204 (the client has seen that the connection is over),
a ``DELETE``, or ``disconnect_timeout`` seconds without a poll (the client is gone). Until then
the token stays registered, which is what lets the poll after the last data be answered 204
rather than 404, as ASP.NET Core does.

Records are sent as they are (no framing beyond the protocol's own): a poll answers with every
pending record concatenated, binary for MessagePack. Long polling never pings (its polls are
its keep-alive), and a client that stopped fetching cannot make pending output grow past the
outbound limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask_signalr import _concurrency
from flask_signalr.errors import ConnectionLostError
from flask_signalr.protocol.base import TransferFormat
from flask_signalr.transports.base import HttpTransport


class LongPollingTransport(HttpTransport):
    """The polls of one connection."""

    name = "LongPolling"
    supports_binary = True

    def __init__(self, outbound_limit: int, disconnect_timeout: float) -> None:
        super().__init__(outbound_limit)
        self._disconnect_timeout = disconnect_timeout
        #: Set once the connection is over for the client too (204 sent, or DELETE).
        self._done = _concurrency.Event()
        self._polling = False
        self._last_poll = time.monotonic()

    @property
    def polling(self) -> bool:
        """Whether a poll is waiting for data (a second one is refused)."""
        return self._polling

    def output_kind(self, transfer_format: TransferFormat) -> str:
        return "records"

    def encode_record(self, record: bytes, transfer_format: TransferFormat) -> bytes:
        return record

    def poll(self, timeout: float) -> bytes | None:
        """What is pending, waiting up to ``timeout`` for something.

        ``b""`` if nothing came in time; None once the connection is over (answered 204).
        """
        self._polling = True
        try:
            data = self._output.take(timeout)
        finally:
            self._polling = False
            self._last_poll = time.monotonic()
        if data is None:
            self._done.set()
        return data

    def terminate(self) -> None:
        """The client ended the connection (``DELETE``): answer a waiting poll with 204."""
        self.abort()
        self._done.set()

    def run(self, on_data: Callable[[bytes], None]) -> BaseException | None:
        """Wait until the connection is over; return the reason if the client vanished."""
        self._start(on_data)
        while True:
            if self._polling:
                wait = self._disconnect_timeout
            else:
                wait = self._last_poll + self._disconnect_timeout - time.monotonic()
                if wait <= 0:
                    self.abort()
                    return ConnectionLostError(
                        f"The client sent no poll for {self._disconnect_timeout}s."
                    )
            if self._done.wait(wait):
                return None
