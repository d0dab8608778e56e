"""The protocol package is sans-IO: it imports without flask, gevent, redis, socket or werkzeug.

Each check runs in a fresh interpreter, because this test session has already imported (and
gevent-patched) all of those. ``flask_signalr/__init__.py`` imports flask, so the child process
registers a stub parent package whose ``__path__`` is the real package directory and imports
``flask_signalr.protocol.*`` beneath it without running the parent's ``__init__``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flask_signalr

PACKAGE_DIR = Path(flask_signalr.__file__).resolve().parent

BLOCKED = (
    "flask",
    "gevent",
    "redis",
    "socket",
    "werkzeug",
    # Also I/O or server machinery a codec has no business touching.
    "_socket",
    "ssl",
    "select",
    "selectors",
    "asyncio",
    "flask_login",
    "flask_sock",
    "simple_websocket",
    "wsproto",
)

PRELUDE = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import sys
    import types

    PACKAGE_DIR = {package_dir!r}
    BLOCKED = {blocked!r}

    def top(name):
        return name.partition(".")[0]

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if top(name) in BLOCKED:
                raise ImportError(f"sans-IO violation: import of {{name!r}}")
            return None

    # Forget anything the interpreter start-up imported, so a re-import hits the blocker.
    for loaded in list(sys.modules):
        if top(loaded) in BLOCKED:
            del sys.modules[loaded]
    sys.meta_path.insert(0, Blocker())

    stub = types.ModuleType("flask_signalr")
    stub.__path__ = [PACKAGE_DIR]
    stub.__file__ = None
    sys.modules["flask_signalr"] = stub
    """
)


def run_child(body: str) -> subprocess.CompletedProcess[str]:
    source = PRELUDE.format(package_dir=str(PACKAGE_DIR), blocked=BLOCKED) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-I", "-c", source],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "module",
    [
        "flask_signalr.protocol",
        "flask_signalr.protocol.json",
        "flask_signalr.protocol.msgpack",
        "flask_signalr.protocol.handshake",
        "flask_signalr.protocol.framing",
        "flask_signalr.protocol.messages",
        "flask_signalr.protocol.values",
        "flask_signalr.protocol.base",
        "flask_signalr.protocol.errors",
    ],
)
def test_protocol_module_imports_without_io_libraries(module: str) -> None:
    child = run_child(
        f"""
        importlib.import_module({module!r})
        leaked = sorted(name for name in sys.modules if top(name) in BLOCKED)
        assert not leaked, leaked
        # Nothing outside the protocol package was pulled in (no layering back-edges).
        outside = sorted(
            name for name in sys.modules
            if name.startswith("flask_signalr.") and not name.startswith("flask_signalr.protocol")
        )
        assert not outside, outside
        assert sys.modules["flask_signalr"] is stub  # the real __init__ never ran
        print("ok")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "ok"


def test_codecs_work_without_io_libraries() -> None:
    child = run_child(
        """
        from flask_signalr.protocol import protocols_by_name
        from flask_signalr.protocol.handshake import (
            parse_handshake_request,
            write_handshake_response,
        )
        from flask_signalr.protocol.messages import PING, InvocationMessage

        request, rest = parse_handshake_request(
            b'{"protocol":"json","version":1}\\x1e{"type":6}\\x1e', 32768
        )
        assert (request.protocol, request.version) == ("json", 1), request
        assert write_handshake_response() == b"{}\\x1e"
        codecs = protocols_by_name(("json", "messagepack"))
        for codec in codecs.values():
            message = InvocationMessage("Send", ["hi", 1], invocation_id="1")
            written = codec.write_message(message)
            assert codec.parse_messages(written + codec.write_message(PING), 0) == (
                [message, PING],
                b"",
            )
        assert codecs["json"].parse_messages(rest, 0) == ([PING], b"")
        assert not [name for name in sys.modules if top(name) in BLOCKED]
        print("ok")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("statement", "culprit"),
    [
        ("import flask", "'flask'"),
        ("import socket", "'socket'"),
        ("import gevent", "'gevent'"),
        ("import flask_signalr.extension", "'flask'"),
    ],
)
def test_blocker_catches_violations(statement: str, culprit: str) -> None:
    # The control: the same child set-up does refuse an I/O import, so the tests above mean
    # something.
    child = run_child(statement)
    assert child.returncode != 0
    assert f"sans-IO violation: import of {culprit}" in child.stderr
