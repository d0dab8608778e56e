"""The Redis backplane: the in-memory manager for local clients, plus Redis pub/sub between nodes.

As ASP.NET's ``AddStackExchangeRedis``: every send is delivered to this node's clients at once
and published for the others, already encoded in every enabled protocol, so receiving nodes
only copy bytes. A node subscribes only to what it needs: broadcasts, its connections, its
users, groups with a local member, and its own acknowledgement and result channels. Sends to a
local connection never touch Redis. Nodes drop their own echoes.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import redis

from flask_signalr import _concurrency
from flask_signalr.errors import ConnectionLostError
from flask_signalr.lifetime import _redis_wire as wire
from flask_signalr.lifetime._redis_bus import REDIS_ERRORS, RedisBus
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.lifetime.memory import MemoryHubLifetimeManager
from flask_signalr.protocol.base import HubProtocol
from flask_signalr.protocol.messages import InvocationMessage
from flask_signalr.server.client_results import (
    check_client_results_allowed,
    settle,
    wait_for_answer,
)
from flask_signalr.server.connection import HubConnection
from flask_signalr.server.serialized import SerializedMessage

logger = logging.getLogger("flask_signalr.redis")

#: Seconds a group change for another node's connection waits for that node's acknowledgement.
GROUP_ACK_TIMEOUT = 5.0
#: Longest an invocation's answer waits for the hub method's publishes to leave (Redis slow).
PUBLISH_WAIT = 2.0
#: Multi-group message ids remembered to deliver each message once per node.
_SEEN_LIMIT = 1024


def connect_redis(url: str, db: int | None) -> redis.Redis:
    """A Redis client whose calls fail fast when the server is unreachable."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 1.0,
        "socket_timeout": 5.0,
        "health_check_interval": 5,
    }
    if db is not None:
        options["db"] = db
    return redis.Redis.from_url(url, **options)


def encode_all(
    message: SerializedMessage, protocols: Mapping[str, HubProtocol]
) -> dict[str, bytes]:
    """The message's record in every protocol (cached in ``message`` for local delivery)."""
    return {name: message.record_for(protocol) for name, protocol in protocols.items()}


class RedisHubLifetimeManager(HubLifetimeManager):
    """Scale-out manager: clients of one hub spread over many processes and machines."""

    def __init__(
        self,
        hub_name: str,
        redis_url: str,
        protocols: Mapping[str, HubProtocol],
        channel_prefix: str = "signalr",
        redis_db: int | None = None,
    ) -> None:
        self.server_id = secrets.token_hex(8)
        self.channels = wire.Channels(channel_prefix, hub_name)
        self._protocols = protocols
        self._local = MemoryHubLifetimeManager()
        self._bus = RedisBus(
            connect_redis(redis_url, redis_db),
            self._on_bus_message,
            [
                self.channels.all,
                self.channels.group_management,
                self.channels.ack(self.server_id),
                self.channels.results(self.server_id),
            ],
            wire.encode_batch,
        )
        self._waiting: dict[str, _concurrency.AsyncResult] = {}
        self._ids = itertools.count(1)
        self._seen: OrderedDict[str, None] = OrderedDict()
        #: Seconds a group change for another node's connection waits for its acknowledgement.
        self.group_ack_timeout = GROUP_ACK_TIMEOUT
        self._bus.start()

    @property
    def bus(self) -> RedisBus:
        return self._bus

    def close(self) -> None:
        self._bus.close()

    # -- membership ----------------------------------------------------------------------------

    def on_connected(self, connection: HubConnection) -> None:
        self._local.on_connected(connection)
        self._bus.subscribe(self.channels.connection(connection.connection_id))
        if connection.user_identifier is not None:
            self._bus.subscribe(self.channels.user(connection.user_identifier))

    def on_disconnected(self, connection: HubConnection) -> None:
        groups = tuple(connection.groups)
        self._local.on_disconnected(connection)
        self._bus.unsubscribe(self.channels.connection(connection.connection_id))
        user = connection.user_identifier
        if user is not None and not self._local.has_user(user):
            self._bus.unsubscribe(self.channels.user(user))
        for group in groups:
            self._forget_group_if_empty(group)

    def add_to_group(self, connection_id: str, group: str) -> None:
        if self._local.get_connection(connection_id) is not None:
            self._add_local(connection_id, group)
        else:
            self._change_remote_group(True, connection_id, group)

    def remove_from_group(self, connection_id: str, group: str) -> None:
        if self._local.get_connection(connection_id) is not None:
            self._remove_local(connection_id, group)
        else:
            self._change_remote_group(False, connection_id, group)

    def _add_local(self, connection_id: str, group: str) -> None:
        self._local.add_to_group(connection_id, group)
        self._bus.subscribe(self.channels.group(group))

    def _remove_local(self, connection_id: str, group: str) -> None:
        self._local.remove_from_group(connection_id, group)
        self._forget_group_if_empty(group)

    def _forget_group_if_empty(self, group: str) -> None:
        if not self._local.has_group(group):
            self._bus.unsubscribe(self.channels.group(group))

    def _change_remote_group(self, add: bool, connection_id: str, group: str) -> None:
        """Ask the node holding ``connection_id`` to change its groups; wait for its ack."""
        ack_id = self._new_id()
        acknowledged = _concurrency.AsyncResult()
        self._waiting[ack_id] = acknowledged
        try:
            command = wire.GroupCommand(self.server_id, add, connection_id, group, ack_id)
            if not self._bus.publish(
                self.channels.group_management, wire.encode_group_command(command)
            ):
                raise ConnectionError(
                    "The Redis backplane is unavailable: cannot change the groups of a "
                    f"connection on another server ({connection_id!r})."
                )
            acknowledged.get(timeout=self.group_ack_timeout)
        except _concurrency.Timeout:
            verb = "adding" if add else "removing"
            raise TimeoutError(
                f"No server acknowledged {verb} connection {connection_id!r} "
                f"{'to' if add else 'from'} group {group!r} within {self.group_ack_timeout}s; "
                "the connection may be gone."
            ) from None
        finally:
            self._waiting.pop(ack_id, None)

    def connection_count(self) -> int:
        return self._local.connection_count()

    def flush(self) -> None:
        self._local.flush()

    def wait_sent(self) -> None:
        self._bus.wait_sent(PUBLISH_WAIT)

    def claim_connection_token(self, connection_id: str, lifetime: float) -> bool:
        """SET NX in Redis, so a signed token opens one connection across the cluster.

        While Redis is unreachable the check is skipped (tokens stay signed and short-lived).
        """
        key = f"{self.channels.prefix}:{self.channels.hub}:claimed:{connection_id}"
        try:
            return bool(
                self._bus.client.set(key, self.server_id, nx=True, ex=max(1, int(lifetime * 2)))
            )
        except REDIS_ERRORS:
            return True

    def get_connection(self, connection_id: str) -> HubConnection | None:
        return self._local.get_connection(connection_id)

    def group_names(self) -> list[str]:
        return self._local.group_names()

    # -- delivery ------------------------------------------------------------------------------

    def send_all(self, message: InvocationMessage) -> None:
        self.send_all_except(message, ())

    def send_all_except(self, message: InvocationMessage, excluded: Collection[str]) -> None:
        serialized = SerializedMessage(message)
        self._local.deliver_all(serialized, excluded)
        self._publish(self.channels.all, serialized, excluded=excluded)

    def send_connection(self, connection_id: str, message: InvocationMessage) -> None:
        self.send_connections((connection_id,), message)

    def send_connections(self, connection_ids: Collection[str], message: InvocationMessage) -> None:
        serialized = SerializedMessage(message)
        local = [cid for cid in connection_ids if self._local.get_connection(cid) is not None]
        self._local.deliver_connections(local, serialized)
        for connection_id in dict.fromkeys(connection_ids):
            if connection_id not in local:
                self._publish(self.channels.connection(connection_id), serialized)

    def send_group(self, group: str, message: InvocationMessage) -> None:
        self.send_group_except(group, message, ())

    def send_group_except(
        self, group: str, message: InvocationMessage, excluded: Collection[str]
    ) -> None:
        serialized = SerializedMessage(message)
        self._local.deliver_groups((group,), serialized, excluded)
        self._publish(self.channels.group(group), serialized, excluded=excluded)

    def send_groups(self, groups: Collection[str], message: InvocationMessage) -> None:
        serialized = SerializedMessage(message)
        names = list(dict.fromkeys(groups))
        self._local.deliver_groups(names, serialized)
        message_id = self._new_id()
        for group in names:
            self._publish(
                self.channels.group(group), serialized, groups=names, message_id=message_id
            )

    def send_user(self, user_id: str, message: InvocationMessage) -> None:
        self.send_users((user_id,), message)

    def send_users(self, user_ids: Collection[str], message: InvocationMessage) -> None:
        serialized = SerializedMessage(message)
        names = list(dict.fromkeys(user_ids))
        self._local.deliver_users(names, serialized)
        for user_id in names:
            self._publish(self.channels.user(user_id), serialized)

    def _publish(self, channel: str, message: SerializedMessage, **fields: Any) -> bool:
        records = encode_all(message, self._protocols)
        delivery = wire.Delivery(self.server_id, records, **fields)
        return self._bus.publish(channel, wire.encode_delivery(delivery))

    # -- client results ------------------------------------------------------------------------

    def invoke_connection(
        self, connection_id: str, method: str, args: Sequence[Any], timeout: float
    ) -> Any:
        if self._local.get_connection(connection_id) is not None:
            return self._local.invoke_connection(connection_id, method, args, timeout)
        check_client_results_allowed()
        # The id names this node, so the answer finds its way back here.
        invocation_id = f"s{self.server_id}.{next(self._ids)}"
        answer = _concurrency.AsyncResult()
        self._waiting[invocation_id] = answer
        try:
            serialized = SerializedMessage(InvocationMessage(method, args, invocation_id))
            published = self._publish(
                self.channels.connection(connection_id), serialized, invocation_id=invocation_id
            )
            if not published:
                raise ConnectionLostError(
                    f"Cannot reach connection '{connection_id}': the Redis backplane is "
                    "unavailable."
                )
            return wait_for_answer(answer, timeout, method)
        finally:
            self._waiting.pop(invocation_id, None)

    # -- receiving -----------------------------------------------------------------------------

    def _on_bus_message(self, channel: str, data: bytes) -> None:
        for payload in wire.decode_all(data):
            self._handle(channel, payload)

    def _handle(self, channel: str, payload: wire.BusMessage) -> None:
        if isinstance(payload, wire.Delivery):
            if payload.server_id != self.server_id:
                self._deliver_remote(channel, payload)
        elif isinstance(payload, wire.GroupCommand):
            self._apply_group_command(payload)
        elif isinstance(payload, str):
            waiting = self._waiting.pop(payload, None)
            if waiting is not None:
                waiting.set(True)
        else:
            waiting = self._waiting.pop(payload.invocation_id, None)
            if waiting is not None:
                settle(waiting, payload.error, payload.result, payload.connection_lost)

    def _deliver_remote(self, channel: str, delivery: wire.Delivery) -> None:
        message = SerializedMessage(None, dict(delivery.records))
        kind, name = self.channels.parse(channel)
        if kind == "all":
            self._local.deliver_all(message, delivery.excluded)
        elif kind == "connection":
            if delivery.invocation_id:
                self._relay_invocation(name, delivery, message)
            else:
                self._local.deliver_connections((name,), message)
        elif kind == "user":
            self._local.deliver_users((name,), message, delivery.excluded)
        elif kind == "group":
            if delivery.groups:
                if self._already_seen(delivery.message_id):
                    return
                self._local.deliver_groups(delivery.groups, message, delivery.excluded)
            else:
                self._local.deliver_groups((name,), message, delivery.excluded)

    def _relay_invocation(
        self, connection_id: str, delivery: wire.Delivery, message: SerializedMessage
    ) -> None:
        """Another node asks one of our clients for a result: send it, route the answer back."""
        connection = self._local.get_connection(connection_id)
        reply_to = self.channels.results(delivery.server_id)
        invocation_id = delivery.invocation_id

        def reply(error: str | None, result: Any, lost: bool) -> None:
            answer = wire.ResultReturn(invocation_id, error, result, lost)
            self._bus.publish(reply_to, wire.encode_result(answer))

        if connection is None:
            reply(f"Connection '{connection_id}' disconnected.", None, True)
            return
        connection.client_results.expect(invocation_id, reply)
        connection.send_serialized(message)

    def _apply_group_command(self, command: wire.GroupCommand) -> None:
        if self._local.get_connection(command.connection_id) is None:
            return  # another node holds it (or nobody does)
        if command.add:
            self._add_local(command.connection_id, command.group)
        else:
            self._remove_local(command.connection_id, command.group)
        self._bus.publish(self.channels.ack(command.server_id), wire.encode_ack(command.ack_id))

    def _already_seen(self, message_id: str) -> bool:
        if message_id in self._seen:
            return True
        self._seen[message_id] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)
        return False

    def _new_id(self) -> str:
        return f"{self.server_id}.{next(self._ids)}"
