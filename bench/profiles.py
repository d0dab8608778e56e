"""Turn py-spy's collapsed stacks (``--format raw``) into a summary and a speedscope file."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    """``f (/x/site-packages/flask_signalr/a.py:5)`` -> ``f (flask_signalr/a.py:5)``."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['name']} ({file}{line})"


def module_of(frame: str) -> str:
    match = _FRAME.match(frame)
    file = short(frame)
    if match:
        file = short(frame).rsplit("(", 1)[1].rstrip(")").split(":")[0]
    parts = file.split("/")
    if parts[0] == "flask_signalr" and len(parts) > 1:
        return "/".join([*parts[:-1], parts[-1].removesuffix(".py")])
    return parts[0].removesuffix(".py")


def summary(path: Path, title: str, top: int = 25) -> str:
    stacks = read(path)
    total = sum(count for _, count in stacks) or 1
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    for frames, count in stacks:
        frames = [short(f) for f in frames]
        self_time[frames[-1]] += count
        modules[module_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"### {title}: {total} samples", "", "Self time (where the CPU is):", ""]
    lines += [f"- {100 * n / total:5.1f}%  {name}" for name, n in self_time.most_common(top)]
    lines += ["", "Inclusive time (a function and what it calls):", ""]
    lines += [f"- {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "Self time by module:", ""]
    lines += [f"- {100 * n / total:5.1f}%  {name}" for name, n in modules.most_common(15)]
    return "\n".join(lines)


def to_speedscope(path: Path, output: Path, name: str) -> None:
    frames: dict[str, int] = {}
    samples, weights = [], []
    for stack, count in read(path):
        samples.append([frames.setdefault(short(f), len(frames)) for f in stack])
        weights.append(count)
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": f} for f in frames]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": name,
        "exporter": "bench/profiles.py (from py-spy --format raw)",
    }
    output.write_text(json.dumps(document))
