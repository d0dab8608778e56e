"""Every server option in one place: its default, how it is validated, where it comes from.

An option is set by a keyword to ``SignalR(...)`` or by ``app.config["SIGNALR_<NAME>"]``; the
keyword wins. Values are checked when the app is initialised, so a typo in a deployment fails at
start-up with a message naming the option, not at the first connection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

TRANSPORT_NAMES = ("WebSockets", "ServerSentEvents", "LongPolling")
PROTOCOL_NAMES = ("json", "messagepack")


@dataclasses.dataclass(frozen=True)
class SignalROptions:
    """Resolved, validated options of one app's SignalR extension."""

    redis_url: str | None = None
    channel_prefix: str = "signalr"
    redis_db: int | None = None
    transports: tuple[str, ...] = TRANSPORT_NAMES
    protocols: tuple[str, ...] = PROTOCOL_NAMES
    keep_alive_interval: float = 15.0
    client_timeout_interval: float = 30.0
    handshake_timeout: float = 15.0
    maximum_receive_message_size: int | None = 32768
    maximum_parallel_invocations_per_client: int = 1
    enable_detailed_errors: bool = False
    stateful_reconnect_buffer_size: int = 100_000
    allowed_origins: tuple[str, ...] = ()
    maximum_outbound_buffer_size: int = 1024 * 1024
    disconnect_timeout: float = 15.0
    long_polling_timeout: float = 90.0


def _positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
    return float(value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _optional_positive_int(name: str, value: Any) -> int | None:
    return None if value is None else _positive_int(name, value)


def _optional_str(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string or None, got {value!r}.")
    return value


def _non_empty_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}.")
    return value


def _optional_db(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a Redis database number (0 or more), got {value!r}.")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return value


def _names(allowed: tuple[str, ...]) -> Callable[[str, Any], tuple[str, ...]]:
    def check(name: str, value: Any) -> tuple[str, ...]:
        items = _string_list(name, value)
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise ValueError(
                f"{name} must be a non-empty list drawn from {list(allowed)}, got {value!r}."
            )
        # Keep the canonical order: clients try transports in the order they are listed.
        return tuple(item for item in allowed if item in items)

    return check


def _origins(name: str, value: Any) -> tuple[str, ...]:
    origins = _string_list(name, value)
    return tuple(origin.rstrip("/").lower() for origin in origins)


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple, set, frozenset)) and all(
        isinstance(item, str) for item in value
    ):
        return tuple(value)
    raise ValueError(f"{name} must be a list of strings, got {value!r}.")


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "redis_url": _optional_str,
    "channel_prefix": _non_empty_str,
    "redis_db": _optional_db,
    "transports": _names(TRANSPORT_NAMES),
    "protocols": _names(PROTOCOL_NAMES),
    "keep_alive_interval": _positive_number,
    "client_timeout_interval": _positive_number,
    "handshake_timeout": _positive_number,
    "maximum_receive_message_size": _optional_positive_int,
    "maximum_parallel_invocations_per_client": _positive_int,
    "enable_detailed_errors": _bool,
    "stateful_reconnect_buffer_size": _positive_int,
    "allowed_origins": _origins,
    "maximum_outbound_buffer_size": _positive_int,
    "disconnect_timeout": _positive_number,
    "long_polling_timeout": _positive_number,
}


def resolve_options(keywords: Mapping[str, Any], config: Mapping[str, Any]) -> SignalROptions:
    """Merge keywords over ``SIGNALR_*`` config over defaults and validate every value."""
    unknown = sorted(set(keywords) - set(_VALIDATORS))
    if unknown:
        raise TypeError(
            f"Unknown SignalR option(s) {unknown}; valid options: {sorted(_VALIDATORS)}."
        )
    valid_keys = {f"SIGNALR_{name.upper()}" for name in _VALIDATORS}
    unknown_keys = sorted(
        key for key in config if key.startswith("SIGNALR_") and key not in valid_keys
    )
    if unknown_keys:
        raise ValueError(
            f"Unknown SignalR config key(s) {unknown_keys}; valid keys: {sorted(valid_keys)}."
        )
    values: dict[str, Any] = {}
    for name, validate in _VALIDATORS.items():
        config_key = f"SIGNALR_{name.upper()}"
        if name in keywords:
            values[name] = validate(name, keywords[name])
        elif config_key in config:
            values[name] = validate(config_key, config[config_key])
    return SignalROptions(**values)
