"""The development server and the CLI drive a handler like the platform does."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from faasify import handler
from faasify.local.events import build_event
from faasify.local.serve import make_server
from tests.support.apps import starlette_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def base_url() -> Iterator[str]:
    server = make_server(handler(starlette_app()), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_server_answers_through_the_handler(base_url: str) -> None:
    request = urllib.request.Request(
        f"{base_url}/echo/caf%C3%A9?x=1&x=2",
        data=b'{"a": 1}',
        method="POST",
        headers={"Content-Type": "application/json", "Cookie": "s=1; t=2"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        seen = json.load(response)
    assert seen["path"] == "/echo/café"
    assert seen["query"] == [["x", "1"], ["x", "2"]]
    assert seen["cookies"] == {"s": "1", "t": "2"}
    assert seen["method"] == "POST"


def test_a_client_that_keeps_its_connection_does_not_block_the_next(base_url: str) -> None:
    """A browser keeps connections open; the page's other requests must still be served."""
    import http.client

    host, port = base_url.removeprefix("http://").split(":")
    first = http.client.HTTPConnection(host, int(port), timeout=5)
    first.request("GET", "/cookies")  # HTTP/1.1: keep-alive unless told otherwise
    answered = first.getresponse()
    answered.read()
    assert answered.getheader("Connection") == "close"
    try:
        with urllib.request.urlopen(f"{base_url}/cookies", timeout=5) as second:
            assert second.status == 200
    finally:
        first.close()


def test_server_passes_every_set_cookie(base_url: str) -> None:
    with urllib.request.urlopen(f"{base_url}/cookies", timeout=10) as response:
        cookies = response.headers.get_all("Set-Cookie")
    assert len(cookies) == 2


def test_cli_invoke_prints_the_handler_result(tmp_path: Path) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(build_event("http-api-v2", "GET", "/stats")))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "faasify.cli",
            "invoke",
            "examples.hello.app:lambda_handler",
            "--event",
            str(event_file),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    result = json.loads(completed.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["lifespan_startups"] == 1


def test_cli_local_without_its_extra_says_what_to_install() -> None:
    probe = (
        "import sys; sys.modules['uvicorn'] = None; "  # as if the extra were not installed
        "from faasify.cli import main; raise SystemExit(main(['local', 'app:handler']))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert completed.returncode == 2
    assert "pip install 'faasify[local]'" in completed.stderr
    assert "Traceback" not in completed.stderr
