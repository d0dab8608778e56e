"""Run a hosted service on one server of a cluster at a time, through a lease in Redis.

Every server competes for the lease (``SET NX`` with an expiry); the holder renews it and runs the
service. When the holder dies the lease expires and another server takes over within about
``lease_seconds``. A holder that cannot renew (Redis unreachable) stops the service before its
lease could have expired, so two copies never run at once as long as clocks are sane.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import redis

from flask_signalr import _concurrency
from flask_signalr.hosting import HostedService
from flask_signalr.lifetime._redis_bus import REDIS_ERRORS

logger = logging.getLogger("flask_signalr")

# Renew only our own lease, and release only our own lease (atomic compare-and-act).
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class LeasedService:
    """Starts and stops ``service`` as this server gains and loses the cluster-wide lease."""

    def __init__(self, service: HostedService, client: redis.Redis, key: str, holder: str) -> None:
        self.service = service
        self._client = client
        self._key = key
        self._holder = holder
        self._ttl_ms = int(service.lease_seconds * 1000)
        self._holding = False
        self._renewed_at = 0.0
        self._loop: Any = None

    @property
    def holding(self) -> bool:
        return self._holding

    def start(self) -> None:
        self._loop = _concurrency.spawn(self._compete)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=True, timeout=5)
            self._loop = None
        if self._holding:
            self._lose()
            with contextlib.suppress(*REDIS_ERRORS):  # otherwise it expires on its own
                self._client.eval(_RELEASE, 1, self._key, self._holder)

    def _compete(self) -> None:
        period = self.service.lease_seconds / 3
        while True:
            try:
                if self._holding:
                    if not self._client.eval(_RENEW, 1, self._key, self._holder, self._ttl_ms):
                        self._lose()
                    else:
                        self._renewed_at = time.monotonic()
                elif self._client.set(self._key, self._holder, nx=True, px=self._ttl_ms):
                    self._renewed_at = time.monotonic()
                    self._holding = True
                    logger.info("This server now runs %s.", type(self.service).__name__)
                    self.service.start()
            except REDIS_ERRORS as exc:
                if self._holding and time.monotonic() - self._renewed_at > period * 2:
                    logger.warning(
                        "Cannot renew the lease of %s (%s); stopping it.",
                        type(self.service).__name__,
                        exc,
                    )
                    self._lose()
            _concurrency.sleep(period)

    def _lose(self) -> None:
        self._holding = False
        self.service.stop()
