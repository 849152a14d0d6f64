"""``faasify serve`` and ``faasify local`` as a user starts them: app or handler, the URL
announced once it answers, one log line per request with the status the client got."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Lines, free_port, spawn


@pytest.mark.parametrize(
    ("target", "path", "expected"),
    [
        ("app:lambda_handler", "/a", {"path": "/a"}),
        ("app:app", "/b", {"path": "/b"}),  # the WSGI app, wrapped
        ("app:asgi_app", "/c", {"asgi": True, "path": "/c"}),  # the ASGI app, wrapped
    ],
)
def test_serve_takes_a_handler_or_an_app(
    project: Path,
    running: list[subprocess.Popen[str]],
    target: str,
    path: str,
    expected: dict[str, object],
) -> None:
    port = free_port()
    process = spawn("serve", target, "--port", str(port), cwd=project)
    running.append(process)
    announced = Lines(process).wait_for("faasify serve: http://")
    assert announced == f"faasify serve: http://127.0.0.1:{port} (http-api-v2 events)"
    answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=30)
    assert answer.status_code == 200
    assert expected.items() <= answer.json().items()


@pytest.mark.parametrize("target", ["app:lambda_handler", "app:app"])
def test_local_announces_once_listening_and_logs_each_request(
    project: Path, running: list[subprocess.Popen[str]], target: str
) -> None:
    port = free_port()
    process = spawn("local", target, "--port", str(port), "--max-instances", "1", cwd=project)
    running.append(process)
    lines = Lines(process)
    announced = lines.wait_for("faasify local: http://")
    assert (
        announced
        == f"faasify local: http://127.0.0.1:{port} (http-api-v2 events, up to 1 instance)"
    )
    # Announced means listening: the first request is answered, with no retry.
    base = f"http://127.0.0.1:{port}"
    assert httpx.post(f"{base}/first?x=1", content=b"hi", timeout=60).status_code == 200
    assert httpx.delete(f"{base}/", timeout=60).status_code == 405  # Flask refuses the method

    first = lines.wait_for("POST /first")
    method, path, status, duration, unit, start, *_rest = first.split()
    assert (method, path, status, unit, start) == ("POST", "/first", "200", "ms", "cold")
    assert float(duration) >= 0
    assert "(init " in first
    assert " wait " in first
    assert first.endswith("instance-1")
    refused = lines.wait_for("DELETE /")
    # the HTTP status the client got, not the invoke's (which succeeded: 200)
    assert refused.split()[:3] == ["DELETE", "/", "405"]
    assert " warm wait " in refused
