"""Drive the official @microsoft/signalr client (in Node) from tests.

One Node process (``tests/js/driver.mjs``) hosts any number of client connections; commands and
events travel as JSON lines. Everything blocks only the calling greenlet, so the in-process
server keeps running while a test waits for the client.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import gevent
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue

DRIVER = Path(__file__).resolve().parent.parent / "js" / "driver.mjs"
DEFAULT_TIMEOUT = 10.0


class JsError(Exception):
    """The JS client rejected a call; the message is the client's error text."""


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        if set(value) == {"$date"}:
            return datetime.datetime.fromisoformat(value["$date"].replace("Z", "+00:00"))
        return {key: _decode(item) for key, item in value.items()}
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime.datetime):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


class JsDriver:
    """The Node process and the routing of its answers and events."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            ["node", str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=DRIVER.parent,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        self._ids = itertools.count(1)
        self._names = itertools.count(1)
        self._pending: dict[int, AsyncResult] = {}
        self._events: dict[str, Queue] = defaultdict(Queue)
        self.logs: list[dict[str, Any]] = []
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            message = json.loads(line)
            if "id" in message:
                self._pending.pop(message["id"]).set(message)
            elif message.get("event") == "log":
                self.logs.append(message)
                self._events[message["conn"]].put(message)
            else:
                self._events[message.get("conn", "")].put(message)

    def call(self, op: str, timeout: float = DEFAULT_TIMEOUT, **fields: Any) -> Any:
        command_id = next(self._ids)
        answer = AsyncResult()
        self._pending[command_id] = answer
        assert self._process.stdin is not None
        line = json.dumps({"id": command_id, "op": op, **fields}) + "\n"
        self._process.stdin.write(line.encode())
        self._process.stdin.flush()
        reply = answer.get(timeout=timeout)
        if not reply["ok"]:
            raise JsError(reply["error"])
        return _decode(reply["result"])

    def events(self, conn: str) -> Queue:
        return self._events[conn]

    def connect(self, url: str, handlers: tuple[str, ...] = (), **options: Any) -> JsConnection:
        name = f"c{next(self._names)}"
        connection = JsConnection(self, name)
        connection.connection_id = self.call(
            "connect", conn=name, url=url, handlers=list(handlers), **options
        )
        return connection

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.kill()


class JsConnection:
    """One HubConnection living in the Node process."""

    def __init__(self, driver: JsDriver, name: str) -> None:
        self.driver = driver
        self.name = name
        self.connection_id: str | None = None
        self._stash: list[dict[str, Any]] = []
        self._streams = itertools.count(1)

    # -- calls --------------------------------------------------------------------------------

    def invoke(self, method: str, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        return self.driver.call(
            "invoke", timeout=timeout, conn=self.name, method=method, args=_encode(list(args))
        )

    def send(self, method: str, *args: Any) -> None:
        self.driver.call("send", conn=self.name, method=method, args=_encode(list(args)))

    def on(self, target: str, results: dict[str, Any] | None = None) -> None:
        self.driver.call("on", conn=self.name, target=target, results=results or {})

    def off(self, target: str) -> None:
        self.driver.call("off", conn=self.name, target=target)

    def stream(self, method: str, *args: Any) -> str:
        stream = f"{self.name}-s{next(self._streams)}"
        self.driver.call(
            "stream", conn=self.name, method=method, args=_encode(list(args)), stream=stream
        )
        return stream

    def cancel(self, stream: str) -> None:
        self.driver.call("cancel", conn=self.name, stream=stream)

    def state(self) -> dict[str, Any]:
        return self.driver.call("state", conn=self.name)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.driver.call("stop", conn=self.name)

    # -- events -------------------------------------------------------------------------------

    def next_event(
        self, kind: str, timeout: float = DEFAULT_TIMEOUT, **match: Any
    ) -> dict[str, Any]:
        """The next event of ``kind`` whose fields equal ``match``; others are kept for later."""
        for index, event in enumerate(self._stash):
            if _matches(event, kind, match):
                return _decode(self._stash.pop(index))  # type: ignore[no-any-return]
        queue = self.driver.events(self.name)
        deadline = gevent.get_hub().loop.now() + timeout
        while True:
            remaining = deadline - gevent.get_hub().loop.now()
            try:
                event = queue.get(timeout=max(remaining, 0.001))
            except Empty:
                raise TimeoutError(
                    f"No {kind} event {match} on {self.name} within {timeout}s; "
                    f"other events: {self._stash}"
                ) from None
            if _matches(event, kind, match):
                return _decode(event)  # type: ignore[no-any-return]
            self._stash.append(event)

    def next_message(self, target: str, timeout: float = DEFAULT_TIMEOUT) -> list[Any]:
        """Arguments of the next ``target`` invocation the client received."""
        return self.next_event("message", timeout, target=target)["args"]  # type: ignore[no-any-return]

    def no_message(self, target: str, within: float = 0.3) -> bool:
        """True if no ``target`` message arrives within ``within`` seconds.

        Only for asserting absence, after a positive event proved delivery had its chance.
        """
        try:
            self.next_message(target, timeout=within)
        except TimeoutError:
            return True
        return False

    def stream_items(
        self, stream: str, timeout: float = DEFAULT_TIMEOUT
    ) -> tuple[list[Any], str | None]:
        """Collect a stream's items until it ends; return them and the end error (if any)."""
        items = []
        while True:
            event = self.next_event("stream-", timeout, stream=stream)
            if event["event"] == "stream-end":
                return items, event["error"]
            items.append(event["item"])

    def errors_logged(self) -> list[str]:
        return [
            log["message"]
            for log in self.driver.logs
            if log["conn"] == self.name and log["level"] in ("Error", "Critical")
        ]


def _matches(event: dict[str, Any], kind: str, match: dict[str, Any]) -> bool:
    name = event.get("event", "")
    if not (name == kind or (kind.endswith("-") and name.startswith(kind))):
        return False
    return all(event.get(key) == value for key, value in match.items())
