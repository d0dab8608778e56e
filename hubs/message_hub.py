"""/hubs/messages: groups (join, leave, send to a group or to the others in it) and users."""

from __future__ import annotations

from typing import Protocol

from flask_signalr import Hub, HubException

GROUPS = ("Orange", "Yellow", "Green")
MAX_MESSAGE = 200


class MessageClient(Protocol):
    def receive_message(self, sender: str, audience: str, text: str) -> None: ...


class MessageHub(Hub[MessageClient]):
    """Group membership belongs to a connection: a page that reconnects joins its groups again."""

    def join_group(self, group: str) -> list[str]:
        """Join ``group``; the answer is every group this connection is in."""
        self.groups.add(self.context.connection_id, _check_group(group))
        self._mine().add(group)
        return self.get_my_groups()

    def leave_group(self, group: str) -> list[str]:
        self.groups.remove(self.context.connection_id, _check_group(group))
        self._mine().discard(group)
        return self.get_my_groups()

    def get_my_groups(self) -> list[str]:
        mine = self._mine()
        return [name for name in GROUPS if name in mine]

    def send_to_group(self, group: str, text: str) -> None:
        audience = f"group {_check_group(group)}"
        self.clients.group(group).receive_message(self._sender(), audience, _check_text(text))

    def send_to_others_in_group(self, group: str, text: str) -> None:
        audience = f"others in {_check_group(group)}"
        self.clients.others_in_group(group).receive_message(
            self._sender(), audience, _check_text(text)
        )

    def send_to_user(self, user: str, text: str) -> None:
        """``Clients.User``: every connection of that signed-in user, on any page."""
        if not user or len(user) > 40:
            raise HubException("Name a user (at most 40 characters).")
        self.clients.user(user).receive_message(self._sender(), f"user {user}", _check_text(text))

    def _sender(self) -> str:
        return self.context.user_identifier or "anonymous"

    def _mine(self) -> set[str]:
        groups: set[str] = self.context.items.setdefault("groups", set())
        return groups


def _check_group(group: str) -> str:
    if group not in GROUPS:
        raise HubException(f"There is no group {group[:40]!r}; pick one of {', '.join(GROUPS)}.")
    return group


def _check_text(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE:
        raise HubException(f"A message has 1 to {MAX_MESSAGE} characters.")
    return text
