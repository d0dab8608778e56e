"""Connection tokens: issued by negotiate, claimed by exactly one transport request.

Version 1 of negotiate returns a public ``connectionId`` and a secret ``connectionToken``;
transport requests name the connection by token only, so knowing someone's public id (which
any hub can broadcast) never lets you take over their connection. Version 0 clients get the id
as the token, as the protocol requires. Unclaimed tokens expire, so negotiate floods cannot grow
memory without bound.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask_signalr.server.connection import HubConnection

if TYPE_CHECKING:  # pragma: no cover
    from flask_signalr.server.tokens import TokenSigner


def new_secret() -> str:
    """22 URL-safe characters from 16 random bytes (the JS client does not URL-encode ids)."""
    return secrets.token_urlsafe(16)


@dataclass
class Reservation:
    """A negotiated connection waiting for its transport request."""

    connection_id: str
    token: str
    created_at: float = field(default_factory=time.monotonic)


class ClaimError(enum.Enum):
    """Why a transport request cannot have the connection it names."""

    UNKNOWN = "No Connection with that ID"
    ACTIVE = "Connection is already active"


class ConnectionRegistry:
    """Reservations and live connections of one hub, keyed by token."""

    def __init__(
        self,
        reservation_lifetime: float,
        signer: TokenSigner | None = None,
        claim_once: Callable[[str, float], bool] | None = None,
    ) -> None:
        """With a ``signer``, tokens issued by other servers are accepted too; ``claim_once``
        then makes sure a token opens one connection in the whole cluster."""
        self._reservation_lifetime = reservation_lifetime
        self._signer = signer
        self._claim_once = claim_once
        self._reservations: OrderedDict[str, Reservation] = OrderedDict()
        self._active: dict[str, HubConnection] = {}

    def reserve(self, negotiate_version: int) -> Reservation:
        """Create a reservation; the token equals the id only for version-0 clients."""
        self.expire_reservations()
        if self._signer is not None:
            connection_id, token = self._signer.issue(negotiate_version)
        else:
            connection_id = new_secret()
            token = new_secret() if negotiate_version >= 1 else connection_id
        reservation = Reservation(connection_id, token)
        self._reservations[token] = reservation
        return reservation

    def claim(self, token: str) -> Reservation | ClaimError:
        """Take the reservation for ``token`` (a transport request is opening it)."""
        reservation = self._reservations.pop(token, None)
        if reservation is None:
            if token in self._active:
                return ClaimError.ACTIVE
            verified = (
                self._signer.verify(token, self._reservation_lifetime) if self._signer else None
            )
            if verified is None:
                return ClaimError.UNKNOWN
            reservation = Reservation(verified.connection_id, token)  # negotiated elsewhere
        if self._claim_once is not None and not self._claim_once(
            reservation.connection_id, self._reservation_lifetime
        ):
            return ClaimError.UNKNOWN  # already opened (on this server or another)
        return reservation

    def activate(self, token: str, connection: HubConnection) -> None:
        self._active[token] = connection

    def connection(self, token: str) -> HubConnection | None:
        """The live connection ``token`` names (later requests of the HTTP transports)."""
        return self._active.get(token)

    def release(self, token: str) -> None:
        self._active.pop(token, None)

    def active_connections(self) -> list[HubConnection]:
        return list(self._active.values())

    def active_count(self) -> int:
        return len(self._active)

    def reservation_count(self) -> int:
        return len(self._reservations)

    def expire_reservations(self) -> None:
        """Drop reservations nobody claimed in time (oldest first, so this stops early)."""
        deadline = time.monotonic() - self._reservation_lifetime
        while self._reservations:
            token, reservation = next(iter(self._reservations.items()))
            if reservation.created_at > deadline:
                break
            del self._reservations[token]
