"""The contract every lifetime manager must honour (ASP.NET's Specification.Tests pattern).

``LifetimeManagerSpec`` runs against one manager; ``ScaleoutSpec`` against two managers sharing
a backplane, where every target must reach clients on either node. Subclasses say how to make
managers; test modules for each implementation subclass these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import pytest

from flask_signalr.errors import ConnectionLostError, HubException
from flask_signalr.lifetime.base import HubLifetimeManager
from flask_signalr.protocol.messages import CompletionMessage, InvocationMessage

from support.memory_clients import MemoryClient
from support.waiting import wait_until


def message(target: str = "m", *args: Any) -> InvocationMessage:
    return InvocationMessage(target, args or ("x",))


def answer_when_asked(client: MemoryClient, reply: Callable[[str], CompletionMessage]) -> None:
    """Play the client side of a client result: wait for the invocation, then answer it."""

    def run() -> None:
        wait_until(lambda: any(invocation_id for _, _, invocation_id in client.received()))
        invocation_id = next(i for _, _, i in client.received() if i)
        client.connection.client_results.complete(reply(invocation_id))

    gevent.spawn(run)


class LifetimeManagerSpec:
    """Behaviour of a single manager."""

    def make_manager(self) -> HubLifetimeManager:
        raise NotImplementedError

    @pytest.fixture
    def manager(self) -> Any:
        made = self.make_manager()
        yield made
        made.close()

    @staticmethod
    def connect(
        manager: HubLifetimeManager, connection_id: str, user: str | None = None
    ) -> MemoryClient:
        client = MemoryClient(connection_id, user)
        manager.on_connected(client.connection)
        return client

    def test_send_all_and_all_except(self, manager: HubLifetimeManager) -> None:
        a, b = self.connect(manager, "a"), self.connect(manager, "b")
        manager.send_all(message("all"))
        manager.send_all_except(message("except"), ["a"])
        manager.flush()  # broadcasts leave at the end of the loop turn
        assert a.targets() == ["all"]
        assert b.targets() == ["all", "except"]

    def test_send_to_connections(self, manager: HubLifetimeManager) -> None:
        a, b, c = (self.connect(manager, name) for name in "abc")
        manager.send_connection("b", message("one"))
        manager.send_connections(["a", "c", "a", "missing"], message("some"))
        manager.flush()  # broadcasts leave at the end of the loop turn
        assert (a.targets(), b.targets(), c.targets()) == (["some"], ["one"], ["some"])

    def test_groups(self, manager: HubLifetimeManager) -> None:
        a, b, c = (self.connect(manager, name) for name in "abc")
        manager.add_to_group("a", "g1")
        manager.add_to_group("b", "g1")
        manager.add_to_group("b", "g2")
        manager.add_to_group("c", "g2")
        manager.send_group("g1", message("g1"))
        manager.send_groups(["g1", "g2"], message("both"))
        manager.send_group_except("g2", message("g2-but-c"), ["c"])
        manager.remove_from_group("a", "g1")
        manager.send_group("g1", message("after-remove"))
        manager.flush()  # broadcasts leave at the end of the loop turn
        assert a.targets() == ["g1", "both"]
        assert b.targets() == ["g1", "both", "g2-but-c", "after-remove"]
        assert c.targets() == ["both"]

    def test_users(self, manager: HubLifetimeManager) -> None:
        k1, k2 = self.connect(manager, "k1", "kevin"), self.connect(manager, "k2", "kevin")
        bob, anon = self.connect(manager, "b", "bob"), self.connect(manager, "n")
        manager.send_user("kevin", message("kevin"))
        manager.send_users(["kevin", "bob", "nobody"], message("users"))
        manager.flush()  # broadcasts leave at the end of the loop turn
        assert k1.targets() == k2.targets() == ["kevin", "users"]
        assert bob.targets() == ["users"]
        assert anon.targets() == []

    def test_departed_connection_is_forgotten(self, manager: HubLifetimeManager) -> None:
        a, b = self.connect(manager, "a", "kevin"), self.connect(manager, "b")
        manager.add_to_group("a", "g")
        manager.on_disconnected(a.connection)
        manager.send_all(message("all"))
        manager.send_group("g", message("group"))
        manager.send_user("kevin", message("user"))
        manager.send_connection("a", message("direct"))
        manager.flush()  # broadcasts leave at the end of the loop turn
        assert a.targets() == []
        assert b.targets() == ["all"]
        assert manager.connection_count() == 1

    def test_client_results(self, manager: HubLifetimeManager) -> None:
        a = self.connect(manager, "a")
        answer_when_asked(a, lambda i: CompletionMessage.with_result(i, 42))
        assert manager.invoke_connection("a", "Ask", ["q"], 5) == 42
        b = self.connect(manager, "b")
        answer_when_asked(b, lambda i: CompletionMessage.with_error(i, "no"))
        with pytest.raises(HubException, match="no"):
            manager.invoke_connection("b", "Ask", [], 5)
        with pytest.raises(TimeoutError):
            manager.invoke_connection("a", "Ask", [], 0.05)

    def test_client_result_for_a_departing_client(self, manager: HubLifetimeManager) -> None:
        a = self.connect(manager, "a")

        def leave() -> None:
            wait_until(lambda: bool(a.received()))
            a.connection.client_results.fail_all("a")

        gevent.spawn(leave)
        with pytest.raises(ConnectionLostError, match=r"Connection .a. disconnected\."):
            manager.invoke_connection("a", "Ask", [], 5)


class ScaleoutSpec:
    """Two managers on one backplane: every target reaches clients on both."""

    def make_pair(self) -> tuple[HubLifetimeManager, HubLifetimeManager]:
        raise NotImplementedError

    @pytest.fixture
    def pair(self) -> Any:
        first, second = self.make_pair()
        yield first, second
        first.close()
        second.close()

    connect = staticmethod(LifetimeManagerSpec.connect)

    def test_all_targets_cross_nodes(
        self, pair: tuple[HubLifetimeManager, HubLifetimeManager]
    ) -> None:
        one, two = pair
        a = self.connect(one, "a", "kevin")
        b = self.connect(two, "b", "kevin")
        c = self.connect(two, "c", "bob")
        one.add_to_group("a", "g")
        two.add_to_group("b", "g")
        two.add_to_group("c", "h")
        one.send_all(message("all"))
        one.send_all_except(message("except"), ["b"])
        one.send_connection("c", message("conn"))
        one.send_connections(["a", "b"], message("conns"))
        one.send_user("kevin", message("user"))
        one.send_users(["bob"], message("users"))
        one.send_group("g", message("group"))
        one.send_groups(["g", "h"], message("groups"))
        one.send_group_except("g", message("group-except"), ["b"])
        one.send_all(message("end"))
        wait_until(lambda: all(x.targets()[-1:] == ["end"] for x in (a, b, c)))
        assert a.targets() == [
            "all",
            "except",
            "conns",
            "user",
            "group",
            "groups",
            "group-except",
            "end",
        ]
        assert b.targets() == ["all", "conns", "user", "group", "groups", "end"]
        assert c.targets() == ["all", "except", "conn", "users", "groups", "end"]

    def test_group_change_of_a_remote_connection(
        self, pair: tuple[HubLifetimeManager, HubLifetimeManager]
    ) -> None:
        one, two = pair
        b = self.connect(two, "b")
        one.add_to_group("b", "g")  # b lives on the other node: waits for its ack
        one.send_group("g", message("in"))
        wait_until(lambda: b.targets() == ["in"])
        one.remove_from_group("b", "g")
        one.send_group("g", message("out"))
        one.send_all(message("end"))
        wait_until(lambda: b.targets()[-1:] == ["end"])
        assert b.targets() == ["in", "end"]

    def test_client_result_across_nodes(
        self, pair: tuple[HubLifetimeManager, HubLifetimeManager]
    ) -> None:
        one, two = pair
        b = self.connect(two, "b")
        answer_when_asked(b, lambda i: CompletionMessage.with_result(i, {"answer": 42}))
        assert one.invoke_connection("b", "Ask", ["q"], 5) == {"answer": 42}
        c = self.connect(two, "c")
        answer_when_asked(c, lambda i: CompletionMessage.with_error(i, "nope"))
        with pytest.raises(HubException, match="nope"):
            one.invoke_connection("c", "Ask", [], 5)

    def test_disconnect_removes_memberships_everywhere(
        self, pair: tuple[HubLifetimeManager, HubLifetimeManager]
    ) -> None:
        one, two = pair
        a = self.connect(one, "a")
        b = self.connect(two, "b", "kevin")
        two.add_to_group("b", "g")
        two.on_disconnected(b.connection)
        one.send_group("g", message("group"))
        one.send_user("kevin", message("user"))
        one.send_connection("b", message("direct"))
        one.send_all(message("end"))
        wait_until(lambda: a.targets() == ["end"])
        assert b.targets() == []
