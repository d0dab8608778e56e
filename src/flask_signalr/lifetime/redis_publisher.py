"""Publish to a hub's clients from a process that runs no server (a worker, a cron job).

``HubContext.from_redis(url, hub="ChatHub")`` speaks the backplane's wire format directly with
a plain Redis client: no gevent, no Flask app. Sends are fire-and-forget publishes; group changes
and client results wait (blocking the calling thread, with a timeout) for the server that holds
the connection to answer on a channel of this publisher's own.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Collection, Sequence
from typing import Any

from flask_signalr.errors import ConnectionLostError, HubException
from flask_signalr.lifetime import _redis_wire as wire
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.lifetime.redis import GROUP_ACK_TIMEOUT, connect_redis, encode_all
from flask_signalr.protocol import protocols_by_name
from flask_signalr.protocol.messages import InvocationMessage
from flask_signalr.server.connection import HubConnection
from flask_signalr.server.serialized import SerializedMessage


class RedisPublisher(HubLifetimeManager):
    """The send side of the backplane, for processes without connections of their own."""

    def __init__(
        self,
        redis_url: str,
        hub: str,
        channel_prefix: str = "signalr",
        redis_db: int | None = None,
        protocols: Sequence[str] = ("json", "messagepack"),
    ) -> None:
        self.server_id = "pub-" + secrets.token_hex(8)
        self.channels = wire.Channels(channel_prefix, hub)
        self._protocols = protocols_by_name(tuple(protocols))
        self._redis = connect_redis(redis_url, redis_db)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._redis.close()

    # -- sends ---------------------------------------------------------------------------------

    def _publish(self, channel: str, message: InvocationMessage, **fields: Any) -> None:
        records = encode_all(SerializedMessage(message), self._protocols)
        delivery = wire.Delivery(self.server_id, records, **fields)
        self._redis.publish(channel, wire.encode_delivery(delivery))

    def send_all(self, message: InvocationMessage) -> None:
        self._publish(self.channels.all, message)

    def send_all_except(self, message: InvocationMessage, excluded: Collection[str]) -> None:
        self._publish(self.channels.all, message, excluded=list(excluded))

    def send_connection(self, connection_id: str, message: InvocationMessage) -> None:
        self._publish(self.channels.connection(connection_id), message)

    def send_connections(self, connection_ids: Collection[str], message: InvocationMessage) -> None:
        for connection_id in dict.fromkeys(connection_ids):
            self.send_connection(connection_id, message)

    def send_group(self, group: str, message: InvocationMessage) -> None:
        self._publish(self.channels.group(group), message)

    def send_groups(self, groups: Collection[str], message: InvocationMessage) -> None:
        names = list(dict.fromkeys(groups))
        message_id = self._new_id()
        for group in names:
            self._publish(self.channels.group(group), message, groups=names, message_id=message_id)

    def send_group_except(
        self, group: str, message: InvocationMessage, excluded: Collection[str]
    ) -> None:
        self._publish(self.channels.group(group), message, excluded=list(excluded))

    def send_user(self, user_id: str, message: InvocationMessage) -> None:
        self._publish(self.channels.user(user_id), message)

    def send_users(self, user_ids: Collection[str], message: InvocationMessage) -> None:
        for user_id in dict.fromkeys(user_ids):
            self.send_user(user_id, message)

    # -- requests that wait for a server -------------------------------------------------------

    def add_to_group(self, connection_id: str, group: str) -> None:
        self._change_group(True, connection_id, group)

    def remove_from_group(self, connection_id: str, group: str) -> None:
        self._change_group(False, connection_id, group)

    def _change_group(self, add: bool, connection_id: str, group: str) -> None:
        ack_id = self._new_id()
        command = wire.GroupCommand(self.server_id, add, connection_id, group, ack_id)
        reply = self._request(
            self.channels.ack(self.server_id),
            self.channels.group_management,
            wire.encode_group_command(command),
            ack_id,
            GROUP_ACK_TIMEOUT,
        )
        if reply is None:
            raise TimeoutError(
                f"No server acknowledged {'adding' if add else 'removing'} connection "
                f"{connection_id!r} {'to' if add else 'from'} group {group!r} within "
                f"{GROUP_ACK_TIMEOUT}s; the connection may be gone."
            )

    def invoke_connection(
        self, connection_id: str, method: str, args: Sequence[Any], timeout: float
    ) -> Any:
        invocation_id = f"s{self.server_id}.{next(self._ids)}"
        records = encode_all(
            SerializedMessage(InvocationMessage(method, args, invocation_id)), self._protocols
        )
        delivery = wire.Delivery(self.server_id, records, invocation_id=invocation_id)
        reply = self._request(
            self.channels.results(self.server_id),
            self.channels.connection(connection_id),
            wire.encode_delivery(delivery),
            invocation_id,
            timeout,
        )
        if reply is None:
            raise TimeoutError(f"The client did not answer '{method}' within {timeout} seconds.")
        assert isinstance(reply, wire.ResultReturn)
        if reply.connection_lost:
            raise ConnectionLostError(reply.error)
        if reply.error is not None:
            raise HubException(reply.error)
        return reply.result

    def _request(
        self, reply_channel: str, channel: str, payload: bytes, request_id: str, timeout: float
    ) -> wire.ResultReturn | str | None:
        """Publish ``payload`` and wait for the reply carrying ``request_id``."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(reply_channel)
            pubsub.get_message(timeout=1.0)  # the subscription confirmation
            self._redis.publish(channel, payload)
            deadline = time.monotonic() + timeout
            while (remaining := deadline - time.monotonic()) > 0:
                message = pubsub.get_message(timeout=remaining)
                if message is None or message["type"] != "message":
                    continue
                for reply in wire.decode_all(message["data"]):
                    reply_id = (
                        reply.invocation_id if isinstance(reply, wire.ResultReturn) else reply
                    )
                    if reply_id == request_id and isinstance(reply, (str, wire.ResultReturn)):
                        return reply
            return None
        finally:
            pubsub.close()

    # -- not for a publisher -------------------------------------------------------------------

    def on_connected(self, connection: HubConnection) -> None:
        raise TypeError("An external publisher holds no connections.")

    def on_disconnected(self, connection: HubConnection) -> None:
        raise TypeError("An external publisher holds no connections.")

    def connection_count(self) -> int:
        return 0

    def _new_id(self) -> str:
        return f"{self.server_id}.{next(self._ids)}"
