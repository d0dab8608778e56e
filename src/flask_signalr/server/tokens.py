"""Connection tokens any server of a cluster can verify (used with the Redis backplane).

Behind a load balancer without sticky sessions, a client may negotiate with one process and
open its WebSocket on another. The token therefore carries the connection id, the time it was
issued and an HMAC over both (keyed from the app's ``SECRET_KEY``): a server that never saw the
negotiation can check it and open the connection, a forged or expired token is refused, and the
token is as unguessable as before. Version-0 clients use the connection id as the token, so for
them the id itself is signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from flask_signalr.server.registry import new_secret

_CONTEXT = b"flask-signalr connection token v1"
_MAC_BYTES = 16


@dataclass(frozen=True)
class VerifiedToken:
    connection_id: str
    issued_at: int


class TokenSigner:
    """Issues and checks signed connection tokens."""

    def __init__(self, secret_key: str | bytes) -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hmac.new(secret, _CONTEXT, hashlib.sha256).digest()

    def issue(self, negotiate_version: int) -> tuple[str, str]:
        """A new ``(connection_id, token)``; for version 0 they are the same signed string."""
        body = f"{min(negotiate_version, 1)}.{new_secret()}.{int(time.time()):x}"
        token = f"{body}.{self._mac(body)}"
        connection_id = token if negotiate_version < 1 else body.split(".")[1]
        return connection_id, token

    def verify(self, token: str, max_age: float) -> VerifiedToken | None:
        """The connection a token names, if its signature holds and it is recent enough."""
        body, _, mac = token.rpartition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            version, random_id, issued_hex = body.split(".")
            issued_at = int(issued_hex, 16)
        except ValueError:
            return None
        if time.time() - issued_at > max_age:
            return None
        return VerifiedToken(token if version == "0" else random_id, issued_at)

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
