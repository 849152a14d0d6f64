"""docs/baas.md's first example runs as written: the service file served by the
command the page shows, called by the page's client code; and the same file
with two workers is refused at startup with a sentence that says why."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.baas.shared import wait_until_ready

PAGE = Path(__file__).resolve().parents[2] / "docs" / "baas.md"


def _blocks(heading: str) -> list[tuple[str, str]]:
    """The fenced blocks (language, code) under ``## heading``, in order."""
    section = PAGE.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)[^\n]*\n(.*?)```", section, re.S)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reader_env() -> dict[str, str]:
    """A reader's shell: no DATABASE_URL or REDIS_URL of the test run's."""
    root = str(PAGE.parents[1])
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "PYTHONPATH": root}


@contextlib.contextmanager
def _running(command: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=_reader_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_the_first_example_runs_as_written(tmp_path: Path) -> None:
    (service_lang, service_code), (shell_lang, shell), (client_lang, client_code) = _blocks(
        "The service in one file"
    )[:3]
    assert (service_lang, shell_lang, client_lang) == ("python", "sh", "python")
    assert service_code.startswith("# service.py\n")
    (tmp_path / "service.py").write_text(service_code)
    port = _free_port()
    command = shell.strip().split()
    assert command[:2] == ["uvicorn", "service:app"]
    command = [sys.executable, "-m", *command[:-1], str(port)]  # the same, on a free port
    with _running(command, tmp_path) as server:
        wait_until_ready(server, f"http://127.0.0.1:{port}")
        printed = io.StringIO()
        code = client_code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "docs/baas.md:client", "exec"), {"__name__": "docs"})
    expected = client_code.split("# ", 1)[1].strip()  # the comment says what it prints
    assert printed.getvalue().strip() == expected


@pytest.mark.parametrize(
    "how", [["--workers", "2"], ["WEB_CONCURRENCY=2"]], ids=["workers", "web-concurrency"]
)
def test_two_workers_on_the_in_memory_database_are_refused(tmp_path: Path, how: list[str]) -> None:
    service_code = _blocks("The service in one file")[0][1]
    (tmp_path / "service.py").write_text(service_code)
    port = str(_free_port())
    env = _reader_env()
    arguments = [sys.executable, "-m", "uvicorn", "service:app", "--port", port]
    if how[0].startswith("WEB_CONCURRENCY="):
        env["WEB_CONCURRENCY"] = how[0].split("=", 1)[1]
    else:
        arguments += how
    done = subprocess.run(
        arguments, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    # uvicorn stops by itself (its supervisor exits 0 once a worker failed to start).
    assert "Application startup failed" in output
    assert "in-memory SQLite database lives in one process" in output
    assert "with 2 workers" in output
