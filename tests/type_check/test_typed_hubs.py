"""Strongly typed hubs are checked by mypy: misspelt client methods and wrong types are errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def run_mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        cwd=HERE.parent.parent,
        check=False,
    )


def test_correct_typed_hub_passes_mypy() -> None:
    result = run_mypy(HERE / "typed_hub_ok.py")
    assert result.returncode == 0, result.stdout


def test_mistakes_are_type_errors() -> None:
    source = (HERE / "typed_hub_bad.py").read_text().splitlines()
    expected = {number for number, line in enumerate(source, 1) if "# error:" in line}
    result = run_mypy(HERE / "typed_hub_bad.py")
    flagged = {
        int(line.split(":")[1])
        for line in result.stdout.splitlines()
        if "typed_hub_bad.py:" in line and ": error:" in line
    }
    assert flagged == expected, result.stdout
