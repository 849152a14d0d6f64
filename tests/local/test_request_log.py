"""The local runtime's log: one line per request, with the status the client got and
where the time went (wait for an instance, init, run)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

import httpx
import pytest

from faasify.local.runtime import Scaler, create_app
from faasify.local.runtime.request_log import LogFormat
from tests.local.test_runtime import APPS, run, scaler


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "faasify.local"]


def _requests(caplog: pytest.LogCaptureFixture, log_format: str = "text") -> list[str]:
    lines = [line for line in _lines(caplog) if not line.startswith(("reaping", "init failed"))]
    if log_format == "json":
        return [line for line in lines if line.startswith('{"message": "request"')]
    return [line for line in lines if re.match(r"^[A-Z]+ /", line)]


async def _serve(s: Scaler, *paths: str, log_format: LogFormat = "text") -> list[int]:
    transport = httpx.ASGITransport(app=create_app(s, log_format=log_format))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return [(await http.get(path)).status_code for path in paths]


def test_each_request_is_one_line_with_the_status_the_client_got(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="faasify.local")
    statuses = run(scaler(), lambda s: _serve(s, "/echo/a?x=1", "/nowhere"))
    assert statuses == [200, 404]
    first, second = _requests(caplog)
    assert re.fullmatch(
        r"GET /echo/a 200 \d+\.\d ms cold \(init \d+\.\d ms\) wait \d+\.\d ms instance-1", first
    )
    # Flask's 404 is logged as 404: the invoke itself succeeded, the answer did not.
    assert re.fullmatch(r"GET /nowhere 404 \d+\.\d ms warm wait \d+\.\d ms instance-1", second)


def test_the_json_format_carries_the_same_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="faasify.local")
    run(scaler(), lambda s: _serve(s, "/nowhere", log_format="json"))
    (line,) = _requests(caplog, "json")
    record = json.loads(line)
    assert {k: record[k] for k in ("method", "path", "status", "cold_start", "instance")} == {
        "method": "GET",
        "path": "/nowhere",
        "status": 404,
        "cold_start": True,
        "instance": "instance-1",
    }
    assert record["init_ms"] > 0
    assert record["duration_ms"] >= 0
    assert record["wait_ms"] >= 0


def test_a_throttled_request_logs_the_time_it_waited(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="faasify.local")

    async def body(s: Scaler) -> list[int]:
        transport = httpx.ASGITransport(app=create_app(s))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            busy = asyncio.ensure_future(http.get("/slow", params={"s": "2"}))
            deadline = time.monotonic() + 60
            while s.busy == 0:  # until the one instance took the slow request
                assert time.monotonic() < deadline, "the slow request never reached an instance"
                await asyncio.sleep(0.01)
            refused = await http.get("/slow", params={"s": "0"})
            return [(await busy).status_code, refused.status_code]

    assert run(scaler(max_instances=1, queue_timeout=0.3), body) == [200, 429]
    lines = _requests(caplog)
    (throttled,) = [line for line in lines if " 429 " in line]
    match = re.fullmatch(
        r"GET /slow 429 0\.0 ms no instance wait (\d+\.\d) ms: every instance is busy", throttled
    )
    assert match is not None, throttled
    assert float(match.group(1)) >= 300.0  # it waited the whole queue timeout, not 0


def test_a_function_error_is_a_line_for_the_client_and_its_trace_for_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="faasify.local")

    async def body(s: Scaler) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(s))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/")

    answer = run(scaler(f"{APPS}:raising_handler"), body)
    assert answer.status_code == 502
    assert answer.json() == {"message": "the function failed: ZeroDivisionError: division by zero"}
    lines = _lines(caplog)
    (line,) = [line for line in lines if line.startswith("GET / 502")]
    assert line.endswith("instance-1: ZeroDivisionError: division by zero")
    (trace,) = [line for line in lines if line.startswith("GET / raised")]
    assert "Traceback (most recent call last)" in trace
    assert trace.rstrip().endswith("ZeroDivisionError: division by zero")
