"""Running ``faasify`` as a user does: a real process, in a directory holding their app."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The user's module: a Flask app, its handler, an ASGI app, and the factory imported.
APP = textwrap.dedent(
    """
    from flask import Flask, request
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from faasify import handler

    app = Flask(__name__)


    @app.route("/", methods=["GET", "POST", "PUT"])
    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def echo(rest=""):
        return {
            "method": request.method,
            "path": request.path,
            "query": request.args.to_dict(flat=False),
            "header": request.headers.get("X-Probe"),
            "body": request.get_data(as_text=True),
        }


    lambda_handler = handler(app)


    async def hello(request):
        return JSONResponse({"asgi": True, "path": request.url.path})


    asgi_app = Starlette(routes=[Route("/{rest:path}", hello)])
    """
)


def faasify(
    *args: str, cwd: Path, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``faasify ARGS`` run to its end in ``cwd``; its status and its output."""
    return subprocess.run(
        [sys.executable, "-m", "faasify.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``faasify ARGS`` started in ``cwd``, its output on pipes (a server command)."""
    return subprocess.Popen(
        [sys.executable, "-m", "faasify.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding the user's ``app.py``."""
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Lines:
    """A server command's stderr, read line by line on a thread, waited on with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        import queue
        import threading

        self.process = process
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stderr is not None
        stream = process.stderr

        def pump() -> None:
            for line in stream:
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """The first line (from now on) that contains ``text``; fails past ``timeout``."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {text!r} in {timeout:g}s: {self.seen}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the process ended before {text!r}: {self.seen}")
            self.seen.append(line)
            if text in line:
                return line


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[str]]]:
    """Server processes a test starts; each is interrupted (Ctrl-C) and reaped at the end."""
    import os
    import signal

    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
