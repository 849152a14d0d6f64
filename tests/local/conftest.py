"""Fixtures of the local runtime's asynchronous-invocation tests (see async_support)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.local.async_support import (
    Local,
    PrivateNats,
    delete_streams,
    spawn_local,
    stop,
)


@pytest.fixture
def faasify_local() -> Iterator[Any]:
    """``faasify_local(target, *options)``: a running ``faasify local``, stopped at the end."""
    started: list[Local] = []

    def start(target: str, *args: str, env: dict[str, str] | None = None) -> Local:
        process, port = spawn_local(target, *args, env=env)
        runtime = Local(process, port)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        stop(runtime.process)


@pytest.fixture
def stream(nats_url: str) -> Iterator[str]:
    """A stream name of this test's own, deleted (with its failure stream) at the end."""
    name = f"FAASIFY_TEST_{uuid.uuid4().hex[:10]}"
    yield name
    delete_streams(nats_url, name, f"{name}_FAILED")


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    """A NATS server of the test's own, which the test may stop: never the shared one."""
    server = PrivateNats(tmp_path / "nats-store")
    server.start()
    yield server
    server.stop()
