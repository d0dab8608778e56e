"""Run the benchmark: start each server fresh, drive it from the load generator, report.

    python -m bench              # the full run (what `make bench` does), a few minutes
    python -m bench --smoke      # seconds: every system and scenario with tiny numbers
    python -m bench --profile    # py-spy profiles of flask-signalr: burst broadcast and echo
    python -m bench --only burst,echo --systems flask-signalr-json,bare   # a subset

On two or more cores the servers run on CPU 0 and the load generator on CPU 1 (with Redis
and both nodes of the two-node run on CPU 0 too), so a server can never borrow the load
generator's core. Results: bench/results/latest.json (raw numbers), bench/results/bench.png;
a full run also refreshes bench/RESULTS.md and docs/bench.png (both committed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_OUT = BENCH / "results"


@dataclass(frozen=True)
class System:
    key: str
    label: str
    module: str
    proto: str
    requires: tuple[str, ...] = ()
    ours: bool = False
    #: File descriptors the server holds per WebSocket (simple-websocket's gevent driver opens
    #: a selector, i.e. an epoll fd, for every connection).
    fds_per_connection: int = 1
    args: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ("burst", "paced", "echo", "idle")

    def available(self) -> bool:
        return all(importlib.util.find_spec(name) is not None for name in self.requires)


SYSTEMS = [
    System(
        "flask-signalr-json",
        "flask-signalr JSON",
        "bench.servers.fsr_app",
        "signalr-json",
        ("flask_signalr",),
        True,
    ),
    System(
        "flask-signalr-msgpack",
        "flask-signalr MsgPack",
        "bench.servers.fsr_app",
        "signalr-msgpack",
        ("flask_signalr",),
        True,
    ),
    System(
        "flask-socketio",
        "Flask-SocketIO",
        "bench.servers.socketio_app",
        "socketio",
        ("flask_socketio",),
        fds_per_connection=2,
    ),
    System(
        "aiosignalr",
        "aiosignalr",
        "bench.servers.aiosignalr_app",
        "signalr-json",
        ("aiosignalr", "aiohttp"),
    ),
    System("bare", "bare gevent (ceiling)", "bench.servers.bare_ws", "bare"),
    System(
        "bare-batched",
        "bare, batched",
        "bench.servers.bare_ws",
        "bare",
        args=("--batch",),
        scenarios=("burst",),
    ),
]
BY_KEY = {system.key: system for system in SYSTEMS}
OURS = "flask-signalr-json"
PEERS = ("flask-socketio", "aiosignalr", "bare", "bare-batched")


@dataclass
class Config:
    burst_clients: list[int] = field(default_factory=lambda: [100, 1000])
    burst_sizes: list[int] = field(default_factory=lambda: [100, 2048])
    burst_warmup: float = 1.0
    burst_duration: float = 3.0
    backlog: int = 0  # broadcasts in flight; 0: the load generator's rule (burst_backlog)
    paced_clients: list[int] = field(default_factory=lambda: [100, 1000])
    paced_size: int = 100
    paced_rate: int = 20
    paced_warmup: float = 0.5
    paced_duration: float = 5.0
    echo_clients: int = 100
    echo_size: int = 32
    echo_warmup: float = 1.0
    echo_duration: float = 3.0
    idle_clients: int = 10000
    idle_settle: float = 3.0
    redis_clients: int = 1000
    redis_size: int = 100
    redis_systems: tuple[str, ...] = ("flask-signalr-json", "flask-signalr-msgpack")
    redis_paced: bool = True
    strict: bool = False


SMOKE = Config(
    burst_clients=[10],
    burst_sizes=[100],
    burst_warmup=0.1,
    burst_duration=0.3,
    backlog=8,
    paced_clients=[10],
    paced_warmup=0.1,
    paced_duration=0.4,
    echo_clients=5,
    echo_warmup=0.1,
    echo_duration=0.3,
    idle_clients=40,
    idle_settle=0.3,
    redis_clients=10,
    redis_systems=("flask-signalr-json",),
    redis_paced=False,
    strict=True,
)

SCENARIOS = ("burst", "paced", "echo", "idle", "redis")


# -- processes -----------------------------------------------------------------------------------


def cpus() -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, load generator CPUs); None where pinning is impossible."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None, None
    if len(available) < 2:
        return None, None
    return {available[0]}, {available[1]}


SERVER_CPUS, LOADGEN_CPUS = cpus()


#: Niceness for servers, Redis and the load generator (``--nice``): 0, or negative to put the
#: measured processes ahead of other work on a shared machine.
NICENESS = [0]


def pinned(cpu_set: set[int] | None) -> Any:
    def setup() -> None:
        if cpu_set is not None:
            os.sched_setaffinity(0, cpu_set)
        if NICENESS[0]:
            os.setpriority(os.PRIO_PROCESS, 0, NICENESS[0])

    return setup


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Servers:
    """Server processes (and Redis) for one run; all stopped on exit."""

    def __init__(self, logs: Path, name: str) -> None:
        self.logs = logs
        self.name = name
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_files: list[Path] = []

    def _spawn(self, argv: list[str], port: int, tag: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{self.name}-{tag}.log"
        self.log_files.append(log)
        with open(log, "wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=pinned(SERVER_CPUS),
                env=child_env(),
            )
        self.processes.append(process)
        wait_port(port, process)
        return process

    def server(
        self, system: System, redis_url: str | None = None, tag: str = "server"
    ) -> tuple[int, int]:
        port = free_port()
        argv = [sys.executable, "-m", system.module, "--port", str(port), *system.args]
        if redis_url:
            argv += ["--redis", redis_url]
        return self._spawn(argv, port, tag).pid, port

    def redis(self) -> tuple[int, str]:
        port = free_port()
        argv = [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        return self._spawn(argv, port, "redis").pid, f"redis://127.0.0.1:{port}/0"

    def log_tail(self) -> str:
        tails = []
        for log in self.log_files:
            with contextlib.suppress(OSError):
                text = log.read_text(errors="replace").strip()
                if text:
                    tails.append(f"[{log.name}] " + text[-600:])
        return "\n".join(tails)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            stop(process)


EXTRA_PATH: list[str] = []


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [*EXTRA_PATH, str(ROOT), env.get("PYTHONPATH")])
    )
    env.pop("PYTHONWARNINGS", None)
    return env


def loadgen(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        timeout=timeout,
        preexec_fn=pinned(LOADGEN_CPUS),
        env=child_env(),
        check=False,
    )
    lines = completed.stdout.decode(errors="replace").strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {
            "error": f"load generator failed ({completed.returncode}): "
            + completed.stderr.decode(errors="replace")[-1500:]
        }
    return json.loads(lines[-1])  # type: ignore[no-any-return]


# -- scenarios -----------------------------------------------------------------------------------


@dataclass
class Plan:
    system: System
    scenario: str
    clients: int
    size: int = 0
    nodes: int = 1
    redis: bool = False

    @property
    def name(self) -> str:
        parts = [self.system.key, self.scenario, str(self.clients)]
        if self.size:
            parts.append(f"{self.size}B")
        if self.redis:
            parts.append(f"redis{self.nodes}")
        return "-".join(parts)


def plans(
    config: Config, systems: list[System], wanted: set[str], have_redis: bool
) -> Iterator[Plan]:
    for system in systems:
        scenarios = set(system.scenarios) & wanted
        if "burst" in scenarios:
            for clients in config.burst_clients:
                for size in config.burst_sizes:
                    yield Plan(system, "burst", clients, size)
        if "paced" in scenarios:
            for clients in config.paced_clients:
                yield Plan(system, "paced", clients, config.paced_size)
        if "echo" in scenarios:
            yield Plan(system, "echo", config.echo_clients, config.echo_size)
        if "idle" in scenarios:
            yield Plan(system, "idle", idle_clients(config.idle_clients, system))
    if "redis" in wanted and have_redis:
        for system in systems:
            if system.key not in config.redis_systems:
                continue
            for nodes, redis in ((1, True), (2, True)):
                yield Plan(system, "burst", config.redis_clients, config.redis_size, nodes, redis)
            if config.redis_paced:
                yield Plan(system, "paced", config.redis_clients, config.redis_size, 2, True)


def spec_for(plan: Plan, config: Config) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "proto": plan.system.proto,
        "mode": plan.scenario,
        "clients": plan.clients,
        "size": plan.size,
        "strict": config.strict,
    }
    if plan.scenario == "burst":
        spec.update(
            warmup=config.burst_warmup, duration=config.burst_duration, backlog=config.backlog
        )
    elif plan.scenario == "paced":
        spec.update(
            warmup=config.paced_warmup, duration=config.paced_duration, rate=config.paced_rate
        )
    elif plan.scenario == "echo":
        spec.update(warmup=config.echo_warmup, duration=config.echo_duration)
    elif plan.scenario == "idle":
        spec.update(settle=config.idle_settle, connect_timeout=240)
    return spec


def start_servers(plan: Plan, servers: Servers) -> tuple[list[int], list[int]]:
    """Start what ``plan`` needs (Redis first); return (pids to measure, ports)."""
    redis_url = None
    pids = []
    if plan.redis:
        redis_pid, redis_url = servers.redis()
        pids.append(redis_pid)
    ports = []
    for node in range(plan.nodes):
        pid, port = servers.server(plan.system, redis_url, tag=f"node{node}")
        pids.append(pid)
        ports.append(port)
    return pids, ports


def run_plan(
    plan: Plan, config: Config, logs: Path, shared: dict[tuple[str, int, bool], Any] | None = None
) -> dict[str, Any]:
    """Run one plan on fresh servers, or (smoke) on servers kept in ``shared`` per system."""
    spec = spec_for(plan, config)
    record: dict[str, Any] = {
        "system": plan.system.key,
        "scenario": plan.scenario,
        "clients": plan.clients,
        "size": plan.size,
        "nodes": plan.nodes,
        "redis": plan.redis,
    }
    key = (plan.system.key, plan.nodes, plan.redis)
    servers = None
    try:
        if shared is not None and key in shared:
            servers, pids, ports = shared[key]
        else:
            servers = Servers(logs, plan.name if shared is None else "-".join(map(str, key)))
            pids, ports = start_servers(plan, servers)
            if shared is not None:
                shared[key] = (servers, pids, ports)
        spec.update(ports=ports, server_pids=pids)
        timeout = 300 if plan.scenario == "idle" else 120
        record.update(loadgen(spec, timeout))
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if servers is not None:
            if record.get("error") or record.get("errors") or record.get("closed_unexpectedly"):
                record["server_log"] = servers.log_tail()
            if shared is None or record.get("error"):
                servers.__exit__(None, None, None)
                if shared is not None:
                    shared.pop(key, None)
    return record


# -- reporting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    scenario: str
    clients: int
    size: int
    metric: str
    higher_is_better: bool
    unit: str


def rows(config: Config) -> list[Row]:
    out = []
    for clients in config.burst_clients:
        for size in config.burst_sizes:
            out.append(
                Row(
                    f"burst {clients} rcv, {size_label(size)}: deliveries/s",
                    "burst",
                    clients,
                    size,
                    "deliveries_per_s",
                    True,
                    "/s",
                )
            )
    for clients in config.paced_clients:
        for metric, name in (("latency_p50_ms", "p50"), ("latency_p99_ms", "p99")):
            out.append(
                Row(
                    f"paced {config.paced_rate}/s to {clients}: {name} ms",
                    "paced",
                    clients,
                    config.paced_size,
                    metric,
                    False,
                    "ms",
                )
            )
    out.append(
        Row(
            f"echo {config.echo_clients} clients: calls/s",
            "echo",
            config.echo_clients,
            config.echo_size,
            "calls_per_s",
            True,
            "/s",
        )
    )
    out.append(
        Row(
            f"echo {config.echo_clients} clients: p99 ms",
            "echo",
            config.echo_clients,
            config.echo_size,
            "latency_p99_ms",
            False,
            "ms",
        )
    )
    out.append(
        Row(
            f"idle {config.idle_clients}: KiB RSS per connection",
            "idle",
            config.idle_clients,
            0,
            "rss_per_conn_kib",
            False,
            "KiB",
        )
    )
    return out


def size_label(size: int) -> str:
    return f"{size // 1024} KB" if size >= 1024 else f"{size} B"


def idle_clients(wanted: int, system: System) -> int:
    """As many as asked, unless the server's open-files limit cannot hold them (the hard
    limit, which an unprivileged process cannot raise: 20,000 on the reference machine)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, (hard - 100) // system.fds_per_connection)


def find(
    results: list[dict[str, Any]],
    system: str,
    scenario: str,
    clients: int,
    size: int,
    nodes: int = 1,
    redis: bool = False,
) -> dict[str, Any] | None:
    for record in results:
        if (record["system"], record["scenario"], record["nodes"], record["redis"]) == (
            system,
            scenario,
            nodes,
            redis,
        ) and (scenario == "idle" or (record["clients"], record["size"]) == (clients, size)):
            return record
    return None


def value(record: dict[str, Any] | None, metric: str) -> float | None:
    if record is None or record.get("error"):
        return None
    number = record.get(metric)
    return float(number) if isinstance(number, (int, float)) else None


def fmt(number: float | None, unit: str = "") -> str:
    if number is None:
        return "—"
    if unit == "/s":
        if number >= 1e6:
            return f"{number / 1e6:.2f}M"
        return f"{number / 1000:.1f}k" if number >= 10000 else f"{number:,.0f}"
    if unit == "ms":
        return f"{number:.1f}" if number >= 10 else f"{number:.2f}"
    return f"{number:.1f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "—"
    return f"{ours / theirs:.2f}x"


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(header)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row in body:
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
    return "\n".join(lines)


def main_table(results: list[dict[str, Any]], config: Config, systems: list[System]) -> str:
    header = ["scenario"] + [s.label for s in systems]
    peers = [BY_KEY[k] for k in PEERS if BY_KEY[k] in systems]
    short = {"bare": "bare", "bare-batched": "bare batched"}
    header += [f"ours ÷ {short.get(p.key, p.label)}" for p in peers]
    body = []
    for row in rows(config):
        figures = {
            s.key: value(find(results, s.key, row.scenario, row.clients, row.size), row.metric)
            for s in systems
        }
        if all(v is None for v in figures.values()):
            continue
        line = [row.label] + [fmt(figures[s.key], row.unit) for s in systems]
        for peer in peers:
            json_r = ratio(figures.get("flask-signalr-json"), figures[peer.key])
            mp_r = ratio(figures.get("flask-signalr-msgpack"), figures[peer.key])
            line.append(f"{json_r} / {mp_r}")
        body.append(line)
    return markdown_table(header, body)


def redis_table(results: list[dict[str, Any]], config: Config, systems: list[System]) -> str:
    body = []
    for system in systems:
        if not system.ours:
            continue
        c, s = config.redis_clients, config.redis_size
        one = value(find(results, system.key, "burst", c, s), "deliveries_per_s")
        one_redis = value(find(results, system.key, "burst", c, s, 1, True), "deliveries_per_s")
        two = value(find(results, system.key, "burst", c, s, 2, True), "deliveries_per_s")
        p99_one = value(find(results, system.key, "paced", c, s), "latency_p99_ms")
        p99_two = value(find(results, system.key, "paced", c, s, 2, True), "latency_p99_ms")
        if one is None and one_redis is None and two is None:
            continue
        body.append(
            [
                system.label,
                fmt(one, "/s"),
                fmt(one_redis, "/s"),
                fmt(two, "/s"),
                ratio(two, one),
                fmt(p99_one, "ms"),
                fmt(p99_two, "ms"),
            ]
        )
    if not body:
        return ""
    header = [
        "system",
        "1 node (memory)",
        "1 node + Redis",
        "2 nodes + Redis",
        "2 nodes ÷ 1 node",
        "paced p99 1 node",
        "paced p99 2 nodes",
    ]
    return markdown_table(header, body)


def check_table(results: list[dict[str, Any]], config: Config, systems: list[System]) -> str:
    header = [
        "run",
        "figure",
        "server CPU %",
        "per server CPU-second",
        "load generator CPU %",
        "dropped",
        "errors",
    ]
    body = []
    for record in results:
        if record["scenario"] not in ("burst", "echo"):
            continue
        label = BY_KEY[record["system"]].label
        what = f"{record['scenario']} {record['clients']}"
        if record["scenario"] == "burst":
            what += f" x {size_label(record['size'])}"
        if record["redis"]:
            what += f" ({record['nodes']} node{'s' if record['nodes'] > 1 else ''} + Redis)"
        burst = record["scenario"] == "burst"
        body.append(
            [
                f"{label}: {what}",
                fmt(value(record, "deliveries_per_s" if burst else "calls_per_s"), "/s"),
                fmt(value(record, "server_cpu_pct")),
                fmt(value(record, "deliveries_per_cpu_s" if burst else "calls_per_cpu_s"), "/s"),
                fmt(value(record, "loadgen_cpu_pct")),
                str(record.get("closed_unexpectedly", "—")),
                (record.get("error") or "; ".join(record.get("errors", [])))[:80],
            ]
        )
    return markdown_table(header, body)


def targets(results: list[dict[str, Any]], config: Config) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    big = max(config.burst_clients)
    small = min(config.burst_sizes)
    for key in ("flask-signalr-json", "flask-signalr-msgpack"):
        label = BY_KEY[key].label
        ours = value(find(results, key, "burst", big, small), "deliveries_per_s")
        sio = value(find(results, "flask-socketio", "burst", big, small), "deliveries_per_s")
        if ours is not None and sio is not None:
            out.append(
                (
                    f"{label}: burst deliveries/s ≥ 3x Flask-SocketIO ({big} rcv, "
                    f"{size_label(small)})",
                    f"{ours / sio:.2f}x",
                    ours >= 3 * sio,
                )
            )
        p99 = value(
            find(results, key, "paced", max(config.paced_clients), config.paced_size),
            "latency_p99_ms",
        )
        if p99 is not None:
            out.append(
                (
                    f"{label}: paced p99 ≤ 25 ms ({max(config.paced_clients)} clients)",
                    f"{p99:.1f} ms",
                    p99 <= 25,
                )
            )
        calls = value(
            find(results, key, "echo", config.echo_clients, config.echo_size), "calls_per_s"
        )
        sio_calls = value(
            find(results, "flask-socketio", "echo", config.echo_clients, config.echo_size),
            "calls_per_s",
        )
        aio_calls = value(
            find(results, "aiosignalr", "echo", config.echo_clients, config.echo_size),
            "calls_per_s",
        )
        if calls is not None and sio_calls is not None:
            out.append(
                (
                    f"{label}: echo calls/s ≥ 3x Flask-SocketIO",
                    f"{calls / sio_calls:.2f}x",
                    calls >= 3 * sio_calls,
                )
            )
        if calls is not None and aio_calls is not None:
            out.append(
                (
                    f"{label}: echo calls/s ≥ aiosignalr",
                    f"{calls / aio_calls:.2f}x",
                    calls >= aio_calls,
                )
            )
        rss = value(find(results, key, "idle", config.idle_clients, 0), "rss_per_conn_kib")
        if rss is not None:
            out.append(
                (
                    f"{label}: ≤ 40 KiB RSS per idle connection ({config.idle_clients})",
                    f"{rss:.1f} KiB",
                    rss <= 40,
                )
            )
        one = value(
            find(results, key, "burst", config.redis_clients, config.redis_size), "deliveries_per_s"
        )
        two = value(
            find(results, key, "burst", config.redis_clients, config.redis_size, 2, True),
            "deliveries_per_s",
        )
        if one is not None and two is not None:
            out.append(
                (
                    f"{label}: 2 nodes over Redis ≥ 0.7x 1 node",
                    f"{two / one:.2f}x",
                    two >= 0.7 * one,
                )
            )
    return out


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": platform.processor() or "",
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "niceness": NICENESS[0],
        "pinning": {
            "servers": sorted(SERVER_CPUS) if SERVER_CPUS else None,
            "load generator": sorted(LOADGEN_CPUS) if LOADGEN_CPUS else None,
        },
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    with contextlib.suppress(OSError):
        info["load_average_at_start"] = os.getloadavg()
    versions = {}
    for dist in (
        "flask-signalr",
        "flask",
        "gevent",
        "wsproto",
        "msgpack",
        "flask-socketio",
        "python-socketio",
        "python-engineio",
        "simple-websocket",
        "aiosignalr",
        "aiohttp",
        "redis",
    ):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[dist] = version(dist)
    with contextlib.suppress(Exception):
        versions["flask-signalr commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=ROOT, check=False
        ).returncode:
            versions["flask-signalr commit"] += " + uncommitted changes in src/"
    if EXTRA_PATH:
        versions["flask-signalr commit"] = f"source tree {EXTRA_PATH[0]} (--src)"
    with contextlib.suppress(FileNotFoundError, subprocess.SubprocessError):
        versions["redis-server"] = (
            subprocess.run(
                ["redis-server", "--version"], capture_output=True, text=True, check=False
            )
            .stdout.split()[2]
            .removeprefix("v=")
        )
    info["versions"] = versions
    return info


def plot(results: list[dict[str, Any]], config: Config, systems: list[System], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6.4))
    colors = {
        "flask-signalr-json": "#1f77b4",
        "flask-signalr-msgpack": "#17becf",
        "flask-socketio": "#d62728",
        "aiosignalr": "#2ca02c",
        "bare": "#7f7f7f",
        "bare-batched": "#bcbd22",
    }
    for system in systems:
        for size, style in zip(config.burst_sizes, ("-", "--"), strict=False):
            xs, ys = [], []
            for clients in config.burst_clients:
                v = value(find(results, system.key, "burst", clients, size), "deliveries_per_s")
                if v is not None:
                    xs.append(clients)
                    ys.append(v)
            if xs:
                left.plot(
                    xs,
                    ys,
                    style,
                    marker="o",
                    color=colors[system.key],
                    label=f"{system.label}, {size_label(size)}",
                )
        xs, ys = [], []
        for clients in config.paced_clients:
            v = value(
                find(results, system.key, "paced", clients, config.paced_size), "latency_p99_ms"
            )
            if v is not None:
                xs.append(clients)
                ys.append(v)
        if xs:
            right.plot(xs, ys, "-", marker="o", color=colors[system.key], label=system.label)
    left.set(
        xscale="log",
        yscale="log",
        xlabel="WebSocket receivers",
        ylabel="deliveries/s (burst)",
        title="Broadcast fan-out throughput",
    )
    right.set(
        xscale="log",
        yscale="log",
        xlabel="WebSocket receivers",
        ylabel="p99 latency, ms",
        title=f"Paced broadcast ({config.paced_rate}/s) p99",
    )
    right.axhline(25, color="black", linestyle=":", linewidth=1, label="target 25 ms")
    for axis in (left, right):
        axis.set_xticks(config.burst_clients if axis is left else config.paced_clients)
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def report(payload: dict[str, Any], config: Config, systems: list[System]) -> str:
    results = payload["runs"]
    m = payload["machine"]
    lines = [
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB, "
        f"Linux {m.get('kernel')}, Python {m.get('python')}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m.get('load_average_at_start', []))}; servers pinned "
        f"to CPU {m['pinning']['servers']}, load generator to CPU "
        f"{m['pinning']['load generator']}"
        + (f", both at niceness {m['niceness']}" if m.get("niceness") else "")
        + ".",
        "",
        "Figures per system; ratio columns are flask-signalr JSON / MessagePack divided by the "
        "peer (throughput: higher is better for us; latency and memory: lower is better).",
        "",
        main_table(results, config, systems),
    ]
    idle = [r for r in results if r["scenario"] == "idle" and not r.get("error")]
    if idle:
        held = ", ".join(
            f"{BY_KEY[r['system']].label} {r.get('alive', 0):,} ({r.get('connect_s', 0):.0f} s to "
            f"connect)"
            for r in idle
        )
        lines += ["", f"Idle connections held: {held}."]
        if any(r["clients"] < config.idle_clients for r in idle):
            lines.append(
                "Fewer than asked where the server needs two file descriptors per WebSocket "
                "(simple-websocket's gevent driver opens an epoll selector per connection) and "
                "the hard open-files limit cannot be raised."
            )
    table = redis_table(results, config, systems)
    if table:
        lines += [
            "",
            f"Redis backplane ({config.redis_clients} receivers split evenly over the "
            f"nodes, {size_label(config.redis_size)}; nodes and Redis share CPU "
            f"{m['pinning']['servers']}):",
            "",
            table,
        ]
    checks = targets(results, config)
    if checks:
        lines += ["", "Targets (issue 7):", ""]
        lines += [f"- [{'x' if ok else ' '}] {what}: {got}" for what, got, ok in checks]
    lines += [
        "",
        "Load generator check (CPU over the measurement window; a saturated server shows ~100 %):",
        "",
        check_table(results, config, systems),
    ]
    failures = [r for r in results if r.get("error")]
    if failures:
        lines += ["", "Failed runs:"]
        lines += [
            f"- {r['system']} {r['scenario']} {r['clients']}: {r['error'][:300]}" for r in failures
        ]
    return "\n".join(lines)


def write_summary(text: str, payload: dict[str, Any]) -> None:
    m = payload["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    body = f"""# Benchmark results

Produced by `make bench` (`python -m bench`) on {payload["finished"][:16].replace("T", " ")} UTC,
in {payload["wall_s"] / 60:.1f} minutes. Raw numbers: `bench/results/latest.json` (not committed);
plot: `docs/bench.png`. How it works and how the load generator was validated: `bench/README.md`.

Versions: {versions}.

{text}

![benchmark plot](../docs/bench.png)
"""
    (BENCH / "RESULTS.md").write_text(body)


# -- profiling -----------------------------------------------------------------------------------


def profile(out: Path, seconds: float) -> None:
    """py-spy profiles of the flask-signalr JSON server under burst broadcast and echo."""
    from bench import profiles

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    system = BY_KEY["flask-signalr-json"]
    config = Config()
    summaries = []
    for name, plan, extra in (
        ("burst", Plan(system, "burst", 1000, 100), {"warmup": 1.0, "duration": seconds + 2}),
        ("burst-2k", Plan(system, "burst", 1000, 2048), {"warmup": 1.0, "duration": seconds + 2}),
        ("echo", Plan(system, "echo", 100, 32), {"warmup": 1.0, "duration": seconds + 2}),
    ):
        spec = spec_for(plan, config) | extra
        with Servers(out / "logs", f"profile-{name}") as servers:
            pid, port = servers.server(system)
            spec.update(ports=[port], server_pids=[pid])
            raw = out / f"profile-{name}.collapsed.txt"
            recorder = subprocess.Popen(
                [
                    "bash",
                    "-c",
                    f"sleep {2.0 + plan.clients / 500}; exec {py_spy} record "
                    f"--pid {pid} --rate 250 --duration {int(seconds)} --format raw --function "
                    f"--nonblocking --output {raw}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            result = loadgen(spec, 180)
            _, err = recorder.communicate(timeout=60)
            if not raw.exists():
                print(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
                continue
            speedscope = out / f"profile-{name}.speedscope.json"
            profiles.to_speedscope(raw, speedscope, f"flask-signalr {name}")
            figure = result.get("deliveries_per_s") or result.get("calls_per_s")
            summaries.append(
                profiles.summary(
                    raw, f"{name} ({plan.clients} clients, {figure or 0:,.0f}/s under the profiler)"
                )
            )
    text = "\n\n".join(summaries)
    (out / "profile-summary.md").write_text(text + "\n")
    print(text)
    print(f"\nspeedscope files: {out}/profile-*.speedscope.json (open at speedscope.app)")


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long run, tiny numbers")
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of flask-signalr")
    parser.add_argument("--profile-seconds", type=float, default=8.0)
    parser.add_argument("--only", default="", help=f"scenarios, comma-separated: {SCENARIOS}")
    parser.add_argument(
        "--systems", default="", help="system keys, comma-separated: " + ",".join(BY_KEY)
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument(
        "--src",
        type=Path,
        default=None,
        help="run flask-signalr from this source folder (e.g. an export of "
        "HEAD's src/) instead of the installed package",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="run servers and load generator at niceness -N (root): on a machine shared with "
        "other work, so that they are not descheduled in the middle of a measurement",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="JSON",
        help="only re-render the table, plot and (for a full run) summary from a results file",
    )
    parser.add_argument(
        "--no-summary",
        action="store_true",
        help="do not rewrite bench/RESULTS.md and docs/bench.png",
    )
    args = parser.parse_args(argv)

    out: Path = args.out
    (out / "logs").mkdir(parents=True, exist_ok=True)
    if args.src:
        EXTRA_PATH.append(str(args.src.resolve()))
    NICENESS[0] = -abs(args.nice)
    if args.profile:
        profile(out, args.profile_seconds)
        return 0

    if args.report:
        payload = json.loads(args.report.read_text())
        config = SMOKE if payload["mode"] == "smoke" else Config()
        systems = [BY_KEY[k] for k in BY_KEY if any(r["system"] == k for r in payload["runs"])]
        publish(payload, config, systems, out, summary=payload["mode"] == "full")
        return 0

    config = SMOKE if args.smoke else Config()
    scenarios = set(args.only.split(",")) if args.only else set(SCENARIOS)
    wanted = args.systems.split(",") if args.systems else list(BY_KEY)
    systems, skipped = [], []
    for key in wanted:
        system = BY_KEY[key]
        (systems if system.available() else skipped).append(system)
    for system in skipped:
        print(
            f"skipping {system.label}: {', '.join(system.requires)} not installed "
            "(`make bench` installs requirements-bench.txt)",
            file=sys.stderr,
        )
    have_redis = shutil.which("redis-server") is not None
    if "redis" in scenarios and not have_redis:
        print("skipping the Redis scenario: no redis-server on PATH", file=sys.stderr)

    started = time.monotonic()
    payload: dict[str, Any] = {
        "mode": "smoke" if args.smoke else "full",
        "started": datetime.datetime.now(datetime.UTC).isoformat(),
        "machine": machine(),
        "config": config.__dict__,
        "skipped": [s.key for s in skipped],
        "runs": [],
    }
    load = payload["machine"].get("load_average_at_start", (0,))[0]
    if load > 0.5 and not args.smoke:
        print(
            f"warning: load average {load:.2f} at start; other work on the machine skews "
            "the figures",
            file=sys.stderr,
        )
    todo = list(plans(config, systems, scenarios, have_redis))
    # A full run starts every server fresh for every measurement; the smoke run keeps one
    # server (set) per system so that it takes seconds.
    shared: dict[tuple[str, int, bool], Any] | None = {} if args.smoke else None
    try:
        for index, plan in enumerate(todo, 1):
            print(f"[{index}/{len(todo)}] {plan.name} ...", end=" ", flush=True, file=sys.stderr)
            record = run_plan(plan, config, out / "logs", shared)
            payload["runs"].append(record)
            print(brief(record), file=sys.stderr)
    finally:
        for servers, _pids, _ports in (shared or {}).values():
            servers.__exit__(None, None, None)
    payload["finished"] = datetime.datetime.now(datetime.UTC).isoformat()
    payload["wall_s"] = time.monotonic() - started
    (out / "latest.json").write_text(json.dumps(payload, indent=1) + "\n")
    summary = not args.smoke and not args.no_summary and not args.only and not args.systems
    publish(payload, config, systems, out, summary)
    return 0


def publish(
    payload: dict[str, Any], config: Config, systems: list[System], out: Path, summary: bool
) -> None:
    """Print the table; write the plot; for a full run, the committed summary and plot."""
    text = report(payload, config, systems)
    print(text)
    png = out / "bench.png"
    plotted = plot(payload["runs"], config, systems, png)
    if summary:
        write_summary(text, payload)
        if plotted:
            (ROOT / "docs").mkdir(exist_ok=True)
            shutil.copyfile(png, ROOT / "docs" / "bench.png")
    print(f"\nraw numbers: {out / 'latest.json'}" + (f"; plot: {png}" if plotted else ""))


def brief(record: dict[str, Any]) -> str:
    if record.get("error"):
        return "ERROR " + record["error"][:200]
    parts = []
    for key, unit in (
        ("deliveries_per_s", "deliveries/s"),
        ("calls_per_s", "calls/s"),
        ("latency_p99_ms", "ms p99"),
        ("rss_per_conn_kib", "KiB/conn"),
        ("server_cpu_pct", "% server CPU"),
        ("loadgen_cpu_pct", "% loadgen CPU"),
    ):
        if isinstance(record.get(key), (int, float)):
            parts.append(f"{record[key]:,.1f} {unit}")
    if record.get("closed_unexpectedly"):
        parts.append(f"{record['closed_unexpectedly']} dropped")
    if record.get("errors"):
        parts.append(f"errors: {record['errors'][:2]}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
