"""Asynchronous invocations on ``faasify local``'s in-process queue, end to end.

Each test starts ``faasify local`` as a process and invokes it as a client of
Lambda's Invoke API (``X-Amz-Invocation-Type: Event``) or of OpenFaaS's
``/async-function/`` would; the handlers (tests/support/local/async_apps.py) note
each attempt in a file, which the tests wait on with deadlines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import free_port
from tests.support.local.async_support import INVOKE, invoke_event, read_jsonl, wait_until

APPS = "tests.support.local.async_apps"
FAST = ("--async-backoff", "0.05")


def ran(log: Path, key: str) -> int:
    return sum(1 for line in read_jsonl(log) if line.get("ran") == key)


def done(log: Path) -> set[str]:
    return {line["done"] for line in read_jsonl(log) if "done" in line}


def test_an_event_is_accepted_with_202_and_runs_afterwards(
    faasify_local: Any, tmp_path: Path
) -> None:
    runtime = faasify_local(f"{APPS}:job")
    log, gate = tmp_path / "log.jsonl", tmp_path / "gate"
    answer = invoke_event(runtime.url, {"log": str(log), "key": "a", "gate": str(gate)})
    assert answer.status_code == 202
    assert answer.content == b""
    assert answer.headers["x-amzn-requestid"]
    # Accepted before it finished: the function is still waiting on the gate.
    wait_until(lambda: ran(log, "a") == 1, what="the attempt")
    assert done(log) == set()
    gate.touch()
    wait_until(lambda: done(log) == {"a"}, what="the event done")
    runtime.lines.wait_for(f"async {answer.headers['x-amzn-requestid']} ok attempt=1")
    metrics = httpx.get(runtime.url + "/_faasify/metrics").text
    assert 'faasify_local_async_queued_total{source="lambda"} 1.0' in metrics
    assert 'faasify_local_async_outcomes_total{outcome="ok"} 1.0' in metrics
    assert "faasify_local_async_age_seconds_count 1.0" in metrics


def test_request_response_invokes_answer_with_the_result_or_the_function_error(
    faasify_local: Any, tmp_path: Path
) -> None:
    runtime = faasify_local(f"{APPS}:job")
    log = str(tmp_path / "log.jsonl")
    answer = httpx.post(runtime.url + INVOKE, json={"log": log, "key": "s"})
    assert answer.status_code == 200
    assert answer.json() == {"statusCode": 200, "body": "s"}
    assert "x-amz-function-error" not in answer.headers
    failed = httpx.post(runtime.url + INVOKE, json={"log": log, "key": "f", "fail": 1})
    assert failed.status_code == 200
    assert failed.headers["x-amz-function-error"] == "Unhandled"
    assert failed.json() == {"errorMessage": "attempt 1 of f failed", "errorType": "ValueError"}
    dry = httpx.post(runtime.url + INVOKE, json={}, headers={"X-Amz-Invocation-Type": "DryRun"})
    assert dry.status_code == 204


def test_bad_invokes_are_refused_with_a_4xx_and_a_log_line(faasify_local: Any) -> None:
    runtime = faasify_local(f"{APPS}:job")
    not_json = httpx.post(
        runtime.url + INVOKE, content=b"{oops", headers={"X-Amz-Invocation-Type": "Event"}
    )
    assert not_json.status_code == 400
    assert not_json.headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert "Could not parse request body into json" in not_json.json()["message"]
    runtime.lines.wait_for("invocations 400")
    kind = httpx.post(runtime.url + INVOKE, json={}, headers={"X-Amz-Invocation-Type": "Later"})
    assert kind.status_code == 400
    assert kind.headers["x-amzn-errortype"] == "InvalidParameterValueException"
    big = invoke_event(runtime.url, {"pad": "x" * (1024 * 1024 + 1)})
    assert big.status_code == 413
    assert big.headers["x-amzn-errortype"] == "RequestTooLargeException"
    callback = httpx.post(
        runtime.url + "/async-function/fn", headers={"X-Callback-Url": "ftp://example.com/x"}
    )
    assert callback.status_code == 400
    assert "is not an http(s) URL" in callback.json()["message"]


def test_a_failing_event_is_retried_then_its_failure_record_is_written(
    faasify_local: Any, tmp_path: Path
) -> None:
    failed = tmp_path / "failed.jsonl"
    runtime = faasify_local(f"{APPS}:job", *FAST, "--on-failure", f"file:{failed}")
    log = tmp_path / "log.jsonl"
    event = {"log": str(log), "key": "k", "fail": 99}
    answer = invoke_event(runtime.url, event)
    assert answer.status_code == 202
    records = wait_until(lambda: read_jsonl(failed), what="the failure record")
    assert ran(log, "k") == 3  # the attempt and Lambda's two retries
    # Every attempt has the event's id as its request id (an idempotency key).
    ids = {line["request_id"] for line in read_jsonl(log) if line.get("ran") == "k"}
    assert ids == {answer.headers["x-amzn-requestid"]}
    (record,) = records
    assert record["requestContext"]["requestId"] == answer.headers["x-amzn-requestid"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {
        "errorMessage": "attempt 3 of k failed",
        "errorType": "ValueError",
    }
    runtime.lines.wait_for("dead-lettered condition=RetriesExhausted attempts=3")


def test_retries_can_be_turned_off(faasify_local: Any, tmp_path: Path) -> None:
    failed = tmp_path / "failed.jsonl"
    runtime = faasify_local(
        f"{APPS}:job", *FAST, "--async-retries", "0", "--on-failure", f"file:{failed}"
    )
    log = tmp_path / "log.jsonl"
    invoke_event(runtime.url, {"log": str(log), "key": "once", "fail": 99})
    (record,) = wait_until(lambda: read_jsonl(failed), what="the failure record")
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert ran(log, "once") == 1


def test_a_malformed_event_is_dead_lettered_with_its_parse_error_after_its_attempts(
    faasify_local: Any, tmp_path: Path
) -> None:
    failed = tmp_path / "failed.jsonl"
    runtime = faasify_local(f"{APPS}:parse", *FAST, "--on-failure", f"file:{failed}")
    assert invoke_event(runtime.url, {"body": "not json"}).status_code == 202
    (record,) = wait_until(lambda: read_jsonl(failed), what="the failure record")
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "JSONDecodeError"
    assert "Expecting value" in record["responsePayload"]["errorMessage"]
    # Settled: nothing runs after the record (the next event is the only one left).
    assert invoke_event(runtime.url, {"body": '{"ok": 1}'}).status_code == 202
    runtime.lines.wait_for("ok attempt=1")
    assert len(read_jsonl(failed)) == 1


def test_an_event_past_its_maximum_age_is_dead_lettered(faasify_local: Any, tmp_path: Path) -> None:
    failed = tmp_path / "failed.jsonl"
    # The retry would wait 2 s; the event may live 0.5 s.
    runtime = faasify_local(
        f"{APPS}:job",
        "--async-backoff",
        "2",
        "--async-max-age",
        "0.5",
        "--on-failure",
        f"file:{failed}",
    )
    log = tmp_path / "log.jsonl"
    invoke_event(runtime.url, {"log": str(log), "key": "old", "fail": 99})
    (record,) = wait_until(lambda: read_jsonl(failed), what="the failure record")
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorMessage"] == "attempt 1 of old failed"
    assert record["eventAge"] >= 0.5
    assert ran(log, "old") == 1


def test_a_function_answering_429_makes_the_queue_back_off_without_using_attempts(
    faasify_local: Any, tmp_path: Path
) -> None:
    runtime = faasify_local(f"{APPS}:job", *FAST, "--async-retries", "0")
    log = tmp_path / "log.jsonl"
    invoke_event(runtime.url, {"log": str(log), "key": "b", "busy": 2})
    wait_until(lambda: done(log) == {"b"}, what="the event done")
    assert ran(log, "b") == 3  # two 429s, then the answer: with no retries allowed
    runtime.lines.wait_for("backoff attempt=1")
    metrics = httpx.get(runtime.url + "/_faasify/metrics").text
    assert 'faasify_local_async_attempts_total{result="backoff"} 2.0' in metrics


def test_throttled_events_stay_queued_until_an_instance_is_free(
    faasify_local: Any, tmp_path: Path
) -> None:
    failed = tmp_path / "failed.jsonl"
    runtime = faasify_local(
        f"{APPS}:job",
        "--max-instances",
        "1",
        "--queue-timeout",
        "0.1",
        "--on-failure",
        f"file:{failed}",
    )
    log, gate = tmp_path / "log.jsonl", tmp_path / "gate"
    for key in "abc":
        event = {"log": str(log), "key": key, "gate": str(gate)}
        assert invoke_event(runtime.url, event).status_code == 202
    wait_until(lambda: ran(log, "a") == 1, what="the first attempt")
    # The one instance is busy: a synchronous invoke is throttled...
    sync = httpx.post(runtime.url + INVOKE, json={"log": str(log), "key": "sync"})
    assert sync.status_code == 429
    assert sync.headers["x-amzn-errortype"] == "TooManyRequestsException"
    # ... while the queued events wait for it.
    gate.touch()
    wait_until(lambda: done(log) == {"a", "b", "c"}, what="every event done")
    assert read_jsonl(failed) == []


class _Callbacks(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def callback_server() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Callbacks,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/done", received
    server.shutdown()
    server.server_close()


def test_openfaas_async_function_calls_back_with_the_result(
    faasify_local: Any, callback_server: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = callback_server
    runtime = faasify_local("tests.support.local.runtime_apps:flask_handler")
    answer = httpx.post(
        runtime.url + "/async-function/echo/echo/a?x=1",
        content=b"payload",
        headers={"X-Callback-Url": url, "X-Call-Id": "call-1"},
    )
    assert answer.status_code == 202
    assert answer.headers["x-call-id"] == "call-1"
    wait_until(lambda: received, what="the callback")
    ((headers, body),) = received
    assert json.loads(body) == {
        "rest": "a",
        "args": {"x": ["1"]},
        "body": "payload",
        "cookie": None,
    }
    assert headers["X-Call-Id"] == "call-1"
    assert headers["X-Function-Status"] == "200"
    assert float(headers["X-Duration-Seconds"]) > 0
    assert headers["Content-Type"] == "application/json"
    # Without a call id of its own, the client gets one.
    second = httpx.post(runtime.url + "/async-function/echo/echo/b")
    assert second.status_code == 202
    assert second.headers["x-call-id"]


def test_an_unreachable_nats_server_is_one_line_at_start() -> None:
    port = free_port()
    command = [sys.executable, "-m", "faasify.cli", "local", f"{APPS}:job"]
    done_ = subprocess.run(
        [*command, "--port", str(free_port()), "--queue", f"nats://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done_.returncode == 1
    assert "Traceback" not in done_.stderr
    lines = done_.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"cannot use NATS JetStream at nats://127.0.0.1:{port}" in lines[0]


def test_a_streaming_function_runs_asynchronously_with_its_answer_read_whole(
    faasify_local: Any, callback_server: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = callback_server
    runtime = faasify_local(
        "tests.support.runtime.apps:asgi_handler", "--invoke-mode", "response-stream"
    )
    answer = httpx.get(
        runtime.url + "/async-function/dl/download?mb=0.25", headers={"X-Callback-Url": url}
    )
    assert answer.status_code == 202
    wait_until(lambda: received, what="the callback")
    ((headers, body),) = received
    assert headers["X-Function-Status"] == "200"
    assert len(body) == 256 * 1024
    assert headers["Content-Type"] == "application/octet-stream"
