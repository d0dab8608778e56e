"""The benchmark harness runs end to end: `python -m bench --smoke`, seconds long.

This checks only that every system and scenario the bench knows still runs and yields numbers
(so `make bench` keeps working as the library changes). It never asserts performance: the
figures of a smoke run on a shared CI machine mean nothing. `make test` installs the peers
(requirements-bench.txt), so every system runs here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _numbers(run: dict[str, Any]) -> None:
    """A run produced the numbers its scenario is about."""
    scenario = run["scenario"]
    if scenario == "burst":
        assert run["deliveries"] > 0
        assert run["verified"], "marker count and decoded messages disagree"
        assert isinstance(run["server_cpu_pct"], float)
        assert isinstance(run["loadgen_cpu_pct"], float)
    elif scenario == "paced":
        assert run["expected"] > 0
        assert run["latency_samples"] == run["expected"]
        assert isinstance(run["latency_p99_ms"], float)
    elif scenario == "echo":
        assert run["calls"] > 0
        assert isinstance(run["latency_p99_ms"], float)
    elif scenario == "idle":
        assert run["alive"] == run["clients"]
        assert isinstance(run["rss_per_conn_kib"], float)


@pytest.mark.timeout(300)
def test_bench_smoke(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    payload = json.loads((tmp_path / "latest.json").read_text())
    runs = payload["runs"]
    systems = {run["system"] for run in runs}
    assert {
        "flask-signalr-json",
        "flask-signalr-msgpack",
        "flask-socketio",
        "aiosignalr",
        "bare",
    } <= systems
    scenarios = {run["scenario"] for run in runs}
    assert {"burst", "paced", "echo", "idle"} <= scenarios
    assert shutil.which("redis-server"), "make test installs redis-server"
    assert any(run["redis"] and run["nodes"] == 2 for run in runs)
    for run in runs:
        label = f"{run['system']} {run['scenario']}"
        assert not run.get("error"), f"{label}: {run.get('error')}\n{run.get('server_log', '')}"
        assert not run.get("errors"), f"{label}: {run['errors']}\n{run.get('server_log', '')}"
        assert run["closed_unexpectedly"] == 0, label
        _numbers(run)
    # the table was printed, with our figure and a ratio column
    assert "flask-signalr JSON" in completed.stdout
    assert "ours ÷ bare" in completed.stdout
