"""SIGTERM to a real instance process runs the app's shutdown exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "support" / "sigterm_instance.py"
ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if line.strip() == marker:
            return lines
    raise AssertionError(f"process ended before {marker!r}: {lines}, {process.stderr}")


def test_sigterm_while_idle_runs_shutdown_and_exits() -> None:
    process = start()
    try:
        assert read_until(process, "READY") == ["STARTUP", "STATUS 200", "READY"]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert out.split() == ["SHUTDOWN"]
    assert process.returncode == 0, err


def test_sigterm_during_an_invoke_lets_it_finish_then_shuts_down() -> None:
    process = start("slow")
    try:
        lines = read_until(process, "INVOKING")
        process.send_signal(signal.SIGTERM)
        lines += read_until(process, "READY")
        # The platform's next signal ends the process; shutdown does not run twice.
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert lines == ["STARTUP", "STATUS 200", "INVOKING", "SHUTDOWN", "STATUS 200 slow ok", "READY"]
    assert rest.split() == []
    assert process.returncode == 0, err
