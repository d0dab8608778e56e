"""When to try reconnecting after the connection was lost (``with_automatic_reconnect``).

A policy is asked before every attempt and answers with a delay in seconds, or ``None`` to give
up; that is the whole contract, so an application can back off however it likes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: Seconds waited before each attempt when no schedule is given (as the .NET and JS clients).
DEFAULT_RETRY_DELAYS = (0.0, 2.0, 10.0, 30.0)


@dataclass(frozen=True)
class RetryContext:
    """What a retry policy knows when it picks the next delay."""

    #: Attempts that already failed in this reconnect cycle (0 before the first attempt).
    previous_retry_count: int
    #: Seconds since the connection was lost.
    elapsed: float
    #: Why the connection was lost, or why the last attempt failed.
    retry_reason: BaseException | None


class RetryPolicy(Protocol):
    """Anything with ``next_retry_delay`` can drive automatic reconnect."""

    def next_retry_delay(self, retry_context: RetryContext) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to stop reconnecting."""
        ...


class DelayListRetryPolicy:
    """Retry once per listed delay, then give up."""

    def __init__(self, delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        for delay in delays:
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
                raise ValueError(f"Retry delays must be seconds (>= 0), got {delay!r}.")
        self._delays = tuple(float(delay) for delay in delays)

    def next_retry_delay(self, retry_context: RetryContext) -> float | None:
        if retry_context.previous_retry_count < len(self._delays):
            return self._delays[retry_context.previous_retry_count]
        return None
