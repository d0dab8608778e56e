"""Helpers shared by the server processes (no gevent or asyncio import here)."""

from __future__ import annotations

import argparse
import resource


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one (10,000 idle sockets need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", default=None, help="Redis URL (flask-signalr only)")
    parser.add_argument(
        "--batch", action="store_true", help="bare server: one send per socket per read"
    )
    parser.add_argument(
        "--nodelay",
        action="store_true",
        help="experiment (flask-signalr only): set TCP_NODELAY on accepted sockets",
    )
    return parser.parse_args()
