"""``faasify local`` as a WebSocket API: real sockets in, the three events to a real
instance, the function's sends back out through the runtime's ``@connections``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runtime() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "faasify.cli", "local",
         "tests.support.websocket_chat:lambda_handler", "--port", "0", "--max-instances", "1"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    url = None
    deadline = time.monotonic() + 60
    seen = []
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "faasify local: http://" in line:
            url = line.split("faasify local: ", 1)[1].split(" ", 1)[0]
    assert url is not None, "".join(seen)
    try:
        yield url.replace("http://", "ws://")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _next(socket: ClientConnection, timeout: float = 20) -> str:
    message = await asyncio.wait_for(socket.recv(), timeout)
    return str(message)


def test_messages_reach_every_member_through_connections(runtime: str) -> None:
    from websockets.asyncio.client import connect

    async def go() -> None:
        async with connect(f"{runtime}/chat") as alice, connect(f"{runtime}/chat") as bob:
            await alice.send("who")
            assert await _next(alice) == "2 here"
            await alice.send("hello")
            assert await _next(alice) == "said: hello"
            assert await _next(bob) == "said: hello"
        # Both closed: their DISCONNECT events left the chat empty.
        # Both closed: their DISCONNECT events (which may still be on their way)
        # leave carol alone in the chat.
        async with connect(f"{runtime}/chat") as carol:
            deadline = time.monotonic() + 20
            count = ""
            while count != "1 here":
                assert time.monotonic() < deadline, f"still {count!r}"
                await carol.send("who")
                count = await _next(carol)

    asyncio.run(go())


def test_a_handshake_the_function_refuses_is_a_403(runtime: str) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def go() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{runtime}/chat?token=bad"):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(go())


def test_connections_answers_410_for_an_id_not_connected(runtime: str) -> None:
    import urllib.error
    import urllib.request

    http = runtime.replace("ws://", "http://")
    request = urllib.request.Request(
        f"{http}/local/@connections/nobody%3D", data=b"x", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, timeout=10)
    assert gone.value.code == 410


def test_an_id_holding_a_slash_is_still_a_connection_not_a_function_call(runtime: str) -> None:
    import urllib.error
    import urllib.request

    http = runtime.replace("ws://", "http://")
    request = urllib.request.Request(
        f"{http}/local/@connections/ab%2Fcd%3D", data=b"x", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, timeout=10)
    assert gone.value.code == 410  # the runtime's own answer, not the function's
