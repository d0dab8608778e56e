"""/hubs/stream: a server-to-client stream of demo.txt, line by line, from its beginning."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import gevent

from flask_signalr import Hub

TEXT = Path(__file__).resolve().parent.parent / "demo.txt"
LINE_DELAY = 0.15  # seconds between lines, so people can watch it arrive (and press Stop)

logger = logging.getLogger("demo")


class StreamHub(Hub):
    def stream_file(self) -> Iterator[str]:
        """Every line of demo.txt; the client's Stop (dispose) closes this generator."""
        sent = 0
        connection = self.context.connection_id
        try:
            with TEXT.open(encoding="utf-8") as lines:
                for line in lines:
                    yield line.rstrip("\n")
                    sent += 1
                    gevent.sleep(LINE_DELAY)
        except GeneratorExit:
            logger.info("Stream to %s cancelled after %d lines.", connection, sent)
            raise
        logger.info("Stream to %s completed: %d lines.", connection, sent)
