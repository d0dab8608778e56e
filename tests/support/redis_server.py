"""A real redis-server on a free loopback port, started and stopped by the tests."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import gevent
import redis

from support.waiting import free_port


class RedisServer:
    """``redis-server`` as a child process; can be killed and restarted on the same port."""

    def __init__(self, port: int | None = None) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed; `make test` installs it.")
        self.executable = executable
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = tempfile.TemporaryDirectory()
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._directory.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        with gevent.Timeout(10, RuntimeError("redis-server did not start")):
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    gevent.sleep(0.02)
        client.close()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        self.kill()
        self._directory.cleanup()
