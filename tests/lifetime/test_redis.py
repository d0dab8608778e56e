"""The Redis backplane against the shared specification, plus what only a backplane has."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from flask_signalr.lifetime.redis import RedisHubLifetimeManager
from flask_signalr.protocol import protocols_by_name
from flask_signalr.protocol.base import HubProtocol
from flask_signalr.protocol.json import JsonHubProtocol
from flask_signalr.protocol.msgpack import MessagePackHubProtocol

from support.lifetime_spec import LifetimeManagerSpec, ScaleoutSpec, message
from support.memory_clients import MemoryClient
from support.redis_server import RedisServer
from support.waiting import free_port, wait_until

PROTOCOLS = protocols_by_name(("json", "messagepack"))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = RedisServer()
    yield server.url
    server.close()


def make(url: str, prefix: str) -> RedisHubLifetimeManager:
    manager = RedisHubLifetimeManager("SpecHub", url, PROTOCOLS, channel_prefix=prefix)
    assert manager.bus.connected.wait(5), "the manager never reached Redis"
    return manager


class TestRedisManager(LifetimeManagerSpec):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_url: str) -> None:
        self.url = redis_url

    def make_manager(self) -> RedisHubLifetimeManager:
        return make(self.url, uuid.uuid4().hex)


class TestRedisScaleout(ScaleoutSpec):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_url: str) -> None:
        self.url = redis_url

    def make_pair(self) -> tuple[RedisHubLifetimeManager, RedisHubLifetimeManager]:
        prefix = uuid.uuid4().hex
        return make(self.url, prefix), make(self.url, prefix)


# -- what only the backplane has ---------------------------------------------------------------


def counting_protocols() -> dict[str, HubProtocol]:
    class CountingJson(JsonHubProtocol):
        writes = 0

        def write_message(self, message: object) -> bytes:  # type: ignore[override]
            type(self).writes += 1
            return super().write_message(message)  # type: ignore[arg-type]

    class CountingMsgpack(MessagePackHubProtocol):
        writes = 0

        def write_message(self, message: object) -> bytes:  # type: ignore[override]
            type(self).writes += 1
            return super().write_message(message)  # type: ignore[arg-type]

    return {"json": CountingJson(), "messagepack": CountingMsgpack()}


def connect(
    manager: RedisHubLifetimeManager,
    name: str,
    user: str | None = None,
    protocol: HubProtocol | None = None,
) -> MemoryClient:
    client = MemoryClient(name, user, protocol)
    manager.on_connected(client.connection)
    return client


def test_messages_cross_redis_encoded_once(redis_url: str) -> None:
    prefix = uuid.uuid4().hex
    sender_protocols, receiver_protocols = counting_protocols(), counting_protocols()
    sender = RedisHubLifetimeManager("SpecHub", redis_url, sender_protocols, channel_prefix=prefix)
    receiver = RedisHubLifetimeManager(
        "SpecHub", redis_url, receiver_protocols, channel_prefix=prefix
    )
    assert sender.bus.connected.wait(5) and receiver.bus.connected.wait(5)
    local = connect(sender, "a", protocol=sender_protocols["json"])
    remote = [
        connect(receiver, f"r{i}", protocol=receiver_protocols[name])
        for i, name in enumerate(["json", "messagepack"] * 50)
    ]
    before = {name: type(p).writes for name, p in receiver_protocols.items()}
    sender.send_all(message("hello"))
    wait_until(lambda: all(client.targets() == ["hello"] for client in remote))
    assert local.targets() == ["hello"]
    assert {name: type(p).writes for name, p in sender_protocols.items()} == {
        "json": 1,
        "messagepack": 1,
    }
    assert {name: type(p).writes for name, p in receiver_protocols.items()} == before
    sender.close()
    receiver.close()


def test_local_sends_skip_redis_and_subscriptions_follow_membership(redis_url: str) -> None:
    prefix = uuid.uuid4().hex
    manager = make(redis_url, prefix)
    spy = redis.Redis.from_url(redis_url).pubsub()
    spy.psubscribe(f"{prefix}:*")
    assert spy.get_message(timeout=1)["type"] == "psubscribe"
    a = connect(manager, "a", "kevin")
    manager.add_to_group("a", "g")
    channels = manager.channels
    assert {
        channels.connection("a"),
        channels.user("kevin"),
        channels.group("g"),
    } <= manager.bus.channels
    manager.send_connection("a", message("direct"))
    manager.send_all(message("marker"))
    published = spy.get_message(timeout=2)
    assert published["channel"].decode() == channels.all  # the direct send never hit Redis
    assert a.targets() == ["direct", "marker"]
    manager.on_disconnected(a.connection)
    assert (
        not {channels.connection("a"), channels.user("kevin"), channels.group("g")}
        & manager.bus.channels
    )
    spy.close()
    manager.close()


def test_remote_group_change_for_unknown_connection_times_out(redis_url: str) -> None:
    manager = make(redis_url, uuid.uuid4().hex)
    manager.group_ack_timeout = 0.2
    with pytest.raises(TimeoutError, match="No server acknowledged adding connection 'ghost'"):
        manager.add_to_group("ghost", "g")
    manager.close()


def test_starts_without_redis_and_connects_when_it_appears() -> None:
    port = free_port()
    manager = RedisHubLifetimeManager(
        "SpecHub", f"redis://127.0.0.1:{port}/0", PROTOCOLS, channel_prefix=uuid.uuid4().hex
    )
    a = connect(manager, "a")
    started = time.monotonic()
    manager.send_all(message("local"))  # Redis is down: local delivery still works, at once
    manager.flush()
    assert time.monotonic() - started < 0.5
    assert a.targets() == ["local"]
    server = RedisServer(port)
    try:
        assert manager.bus.connected.wait(5), "no reconnection within 5 s of Redis appearing"
    finally:
        manager.close()
        server.close()


def test_redis_restart(redis_url: str) -> None:
    server = RedisServer()
    prefix = uuid.uuid4().hex
    one, two = make(server.url, prefix), make(server.url, prefix)
    a, b = connect(one, "a"), connect(two, "b")
    two.add_to_group("b", "g")
    server.kill()
    wait_until(lambda: not one.bus.connected.is_set() and not two.bus.connected.is_set())
    started = time.monotonic()
    one.send_all(message("during"))  # publishes fail fast; local clients are still served
    with pytest.raises(ConnectionError, match="backplane is unavailable"):
        one.add_to_group("b", "h")
    assert time.monotonic() - started < 1.0
    one.flush()
    assert a.targets() == ["during"]
    server.start()
    restarted = time.monotonic()
    assert one.bus.connected.wait(5) and two.bus.connected.wait(5)
    assert time.monotonic() - restarted <= 5.0
    one.send_group("g", message("after"))  # b's group subscription came back with the node
    wait_until(lambda: b.targets() == ["after"])
    one.close()
    two.close()
    server.close()


def test_a_dead_node_leaves_nothing_that_blocks_sends(redis_url: str) -> None:
    prefix = uuid.uuid4().hex
    one, two = make(redis_url, prefix), make(redis_url, prefix)
    a = connect(one, "a")
    connect(two, "b", "kevin")
    two.add_to_group("b", "g")
    two.close()  # dies without disconnecting its clients
    started = time.monotonic()
    one.send_group("g", message("group"))
    one.send_user("kevin", message("user"))
    one.send_all(message("all"))
    assert time.monotonic() - started < 0.5
    one.flush()
    assert a.targets() == ["all"]
    one.close()
