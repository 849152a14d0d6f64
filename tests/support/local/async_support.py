"""What the asynchronous-invocation tests share: ``faasify local`` as a process, and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import free_port
from tests.local.test_lambda_modes import Local, wait_until

__all__ = [
    "Local",
    "PrivateNats",
    "delete_streams",
    "invoke_event",
    "nats_problem",
    "read_jsonl",
    "spawn_local",
    "stop",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[2]
APPS = "tests.support.local.async_apps"
INVOKE = "/2015-03-31/functions/faasify-local/invocations"


def read_jsonl(path: Path) -> list[Any]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def invoke_event(url: str, event: Any) -> httpx.Response:
    return httpx.post(
        url + INVOKE, json=event, headers={"X-Amz-Invocation-Type": "Event"}, timeout=10
    )


def spawn_local(
    target: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FAASIFY_")},
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "faasify.cli", "local", target, "--port", str(port), *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return process, port


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def nats_problem(url: str) -> str | None:
    try:
        import nats
    except ImportError:
        return "nats-py is not installed"

    async def probe() -> None:
        nc = await asyncio.wait_for(nats.connect(url, connect_timeout=2), 5)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def delete_streams(url: str, *names: str) -> None:
    import nats

    async def delete() -> None:
        nc = await nats.connect(url, connect_timeout=2)
        try:
            js = nc.jetstream()
            for name in names:
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(name)
        finally:
            await nc.close()

    asyncio.run(delete())


class PrivateNats:
    """A NATS server of the test's own (its own port and store), to stop and start."""

    def __init__(self, store: Path) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            pytest.skip("nats-server is not installed (apt-get install nats-server)")
        self.binary = binary
        self.store = store
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-js", "-sd", str(self.store), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: nats_problem(self.url) is None, 30, "the private NATS server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
