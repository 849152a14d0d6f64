"""``python -m examples.todolist``: the whole example on one machine, started and stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def call(method: str, url: str, payload: Any = None, token: str | None = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("framework", "stage", "stop", "servers"),
    [
        ("flask", "baas", signal.SIGINT, False),
        ("fastapi", "pooled", signal.SIGTERM, False),
        pytest.param(
            "fastapi", "baas", signal.SIGTERM, True, marks=[pytest.mark.postgres, pytest.mark.redis]
        ),
    ],
)
def test_runs_the_whole_example_and_stops_cleanly(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    framework: str,
    stage: str,
    stop: signal.Signals,
    servers: bool,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'todos.db'}",
        "TODO_SECRET": "local-run-secret-0123456789abcdefgh",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if servers:  # PostgreSQL for the data, Redis for the service's limits
        env["DATABASE_URL"] = request.getfixturevalue("todolist_pg_url")
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    command = [sys.executable, "-m", "examples.todolist", "--port", "0", "--service-port", "0"]
    command += ["--framework", framework, "--stage", stage]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As a script's `... &` starts it: SIGINT ignored. SIGINT must stop it all the same.
        preexec_fn=ignore_sigint,
    )
    try:
        assert process.stdout is not None
        url = None
        deadline = time.monotonic() + 30
        seen = []
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/)$", line.strip())
            if found:
                url = found.group(1)
        assert url, "".join(seen)

        status, login = call("POST", url + "api/login", {"username": f"local-{os.getpid()}"})
        assert status == 200
        token = login["token"]
        status, todo = call("POST", url + "api/todos", {"text": "from the local run"}, token)
        assert todo["text"] == "from the local run"
        assert status == 201
        status, page = call("GET", url + "api/todos", token=token)
        assert status == 200
        assert [t["text"] for t in page["items"]] == ["from the local run"]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["content-type"].startswith("text/html")

        process.send_signal(stop)
        rest, _ = process.communicate(timeout=20)
        assert process.returncode == 0, rest
        assert "todolist stopped" in rest
        assert "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("option", ["--service-port", "--port"])
def test_a_taken_port_is_one_line_naming_the_option_not_a_traceback(
    tmp_path: Path, option: str
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'todos.db'}",
        "TODO_SECRET": "local-run-secret-0123456789abcdefgh",
    }
    ports = {"--port": "0", "--service-port": "0", option: port}
    command = [sys.executable, "-m", "examples.todolist", "--stage", "stateful"]
    try:
        done = subprocess.run(
            [*command, *(part for pair in ports.items() for part in pair)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        taken.close()
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"python -m examples.todolist: cannot listen on 127.0.0.1:{port}")
    assert f"choose another port with {option}" in line
    assert "todolist stopped" not in done.stdout  # it never served


def test_help_keeps_the_descriptions_list(capsys: pytest.CaptureFixture[str]) -> None:
    from examples.todolist.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "\n* the function (Flask or FastAPI, through" in out
    assert "\n* one address for all of it" in out
    assert "--max-instances MAX_INSTANCES" in out
    assert "(default 4)" in out
