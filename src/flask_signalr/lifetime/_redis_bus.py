"""The Redis connection of one node: one subscriber greenlet, publishes that never block.

The subscriber keeps the set of channels this node needs and resubscribes all of them whenever
it (re)connects, retrying with a short backoff (so a node is back within a couple of seconds of
Redis returning). While Redis is unreachable, publishes are skipped at once instead of waiting:
local delivery goes on, and the hub code that sent never hangs.

Publishes queue up and a publisher greenlet sends them in order, in one pipelined round trip
per batch; consecutive payloads for the same channel travel as one Redis message (``combine``),
so a burst of broadcasts costs the receiving servers one message to parse instead of hundreds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import redis

from flask_signalr import _concurrency

logger = logging.getLogger("flask_signalr.redis")

#: Longest pause between reconnection attempts.
MAX_BACKOFF = 2.0
#: How long a subscribe waits for Redis to confirm it before going on.
SUBSCRIBE_CONFIRM_TIMEOUT = 2.0
_POLL = 1.0
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisBus:
    """Publish to channels, and receive from a changing set of subscribed channels."""

    def __init__(
        self,
        client: redis.Redis,
        on_message: Callable[[str, bytes], None],
        fixed_channels: list[str],
        combine: Callable[[list[bytes]], bytes],
    ) -> None:
        self._client = client
        self._on_message = on_message
        self._combine = combine
        self._outbox: list[tuple[str, bytes]] = []
        self._publisher: Any = None
        #: Publishes queued and gone out (or failed) so far: for wait_sent().
        self._queued = 0
        self._settled = 0
        self._batch_settled = _concurrency.Event()
        self._channels: set[str] = set(fixed_channels)
        self._confirmations: dict[str, _concurrency.Event] = {}
        self._pubsub: Any = None
        self._write_lock = _concurrency.Lock()
        self._listener: Any = None
        self._closed = False
        #: Set while a subscriber connection is up and subscribed.
        self.connected = _concurrency.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._listener is None:
            self._listener = _concurrency.spawn(self._listen_forever)

    def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            _concurrency.kill(self._listener)
        self._drop_pubsub()
        self._client.close()

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, channel: str, data: bytes) -> bool:
        """Queue ``data`` for ``channel`` (in order with every other publish of this node).

        Never waits; returns False at once when Redis is unavailable (a failure later, while
        the batch goes out, is logged).
        """
        if not self.connected.is_set():
            logger.debug("Redis unavailable: not publishing to %s.", channel)
            return False
        self._outbox.append((channel, data))
        self._queued += 1
        if self._publisher is None:
            self._publisher = _concurrency.spawn(self._publish_queued)
        return True

    def wait_sent(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until every publish queued so far went out or failed."""
        target = self._queued
        with _concurrency.Timeout(timeout, False):
            while self._settled < target:
                self._batch_settled.clear()
                self._batch_settled.wait()

    def _publish_queued(self) -> None:
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
                try:
                    self._send_batch(batch)
                finally:
                    self._settled += len(batch)
                    self._batch_settled.set()
        finally:
            self._publisher = None

    def _send_batch(self, batch: list[tuple[str, bytes]]) -> bool:
        pipeline = self._client.pipeline(transaction=False)
        start = 0
        while start < len(batch):  # runs of one channel become one message
            channel = batch[start][0]
            end = start + 1
            while end < len(batch) and batch[end][0] == channel:
                end += 1
            payloads = [data for _, data in batch[start:end]]
            pipeline.publish(
                channel, payloads[0] if len(payloads) == 1 else self._combine(payloads)
            )
            start = end
        try:
            pipeline.execute()
        except REDIS_ERRORS as exc:
            logger.warning("Publishing to Redis failed (%s); local clients are still served.", exc)
            return False
        return True

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(self, channel: str) -> None:
        """Receive ``channel`` from now on (confirmed by Redis before returning, when up)."""
        if channel in self._channels:
            return
        self._channels.add(channel)
        if not self.connected.is_set():
            return  # subscribed on (re)connect
        confirmed = self._confirmations.setdefault(channel, _concurrency.Event())
        try:
            with self._write_lock:
                self._pubsub.subscribe(channel)
        except REDIS_ERRORS:
            return  # the listener reconnects and subscribes everything
        if not confirmed.wait(SUBSCRIBE_CONFIRM_TIMEOUT):
            logger.warning("Redis did not confirm the subscription to %s in time.", channel)

    def unsubscribe(self, channel: str) -> None:
        if channel not in self._channels:
            return
        self._channels.discard(channel)
        if self.connected.is_set():
            # On failure the next connection simply does not subscribe it.
            with contextlib.suppress(*REDIS_ERRORS), self._write_lock:
                self._pubsub.unsubscribe(channel)

    @property
    def client(self) -> redis.Redis:
        return self._client

    @property
    def channels(self) -> set[str]:
        return set(self._channels)

    # -- listening ----------------------------------------------------------------------------

    def _listen_forever(self) -> None:
        backoff = 0.1
        outage_logged = False
        while not self._closed:
            try:
                self._connect()
                if outage_logged:
                    logger.warning(
                        "Reconnected to Redis; resubscribed %d channels.", len(self._channels)
                    )
                outage_logged = False
                backoff = 0.1
                self._receive()
            except REDIS_ERRORS as exc:
                self.connected.clear()
                self._drop_pubsub()
                if not outage_logged:
                    logger.warning(
                        "Redis unavailable (%s); retrying, local clients still served.", exc
                    )
                    outage_logged = True
                _concurrency.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _connect(self) -> None:
        pubsub = self._client.pubsub()
        with self._write_lock:
            pubsub.subscribe(*sorted(self._channels))
        self._pubsub = pubsub
        # The subscription confirmations arrive first; once one is read the connection works.
        self.connected.set()

    def _receive(self) -> None:
        while not self._closed:
            message = self._pubsub.get_message(timeout=_POLL)
            if message is None:
                continue
            kind = message["type"]
            channel = _text(message["channel"])
            if kind == "message":
                try:
                    self._on_message(channel, message["data"])
                except Exception:
                    logger.exception("Handling a message from Redis channel %s failed.", channel)
            elif kind == "subscribe":
                confirmed = self._confirmations.pop(channel, None)
                if confirmed is not None:
                    confirmed.set()

    def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*REDIS_ERRORS):  # already broken: nothing to release
                pubsub.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
