"""The loop itself, in buffered mode: answers as ``faasify.handler`` gives them, the work
after the response, ids echoed, tenants, errors, init failures, several workers."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from faasify.adapters.aws.events import build_event
from tests.adapters.aws.runtime.conftest import APPS
from tests.support.runtime.recorder import Recorded

BASE = "/2018-06-01/runtime"


def v2_event(path: str, query: str = "") -> dict[str, Any]:
    event: dict[str, Any] = build_event("http-api-v2", "GET", path, query)
    return event


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("app", ["asgi_handler", "wsgi_handler"])
def test_a_buffered_answer_is_what_the_handler_itself_returns(runtime: Any, app: str) -> None:
    event = build_event(
        "rest-v1", "GET", "/hello", "x=1", [("Cookie", "c=1"), ("X-Probe", "y")], b""
    )
    direct = getattr(importlib.import_module(APPS), app)(event, None)
    run = runtime(f"{APPS}:{app}")
    request_id = run.api.invoke(event, invocation_id="attempt-1")
    post = run.api.answer(request_id)
    assert post.path == f"{BASE}/invocation/{request_id}/response"
    assert post.header("Content-Type") == "application/json"
    assert post.header("Lambda-Runtime-Invocation-Id") == "attempt-1"
    assert post.header("Lambda-Runtime-Function-Response-Mode") is None
    answer = json.loads(post.body)
    # Everything but what differs between two processes (a pid, a trace id,
    # and so the body's length).
    body, expected = json.loads(answer.pop("body")), json.loads(direct.pop("body"))
    for headers in (answer.get("multiValueHeaders", {}), direct.get("multiValueHeaders", {})):
        for name in [name for name in headers if name.lower() == "content-length"]:
            del headers[name]  # Flask spells it Content-Length, Starlette content-length
    assert answer == direct
    assert body.keys() == expected.keys()
    run.finish()


def test_no_invocation_id_is_sent_when_lambda_sent_none(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler")
    request_id = run.api.invoke(v2_event("/hello"))
    post = run.api.answer(request_id)
    assert post.header("Lambda-Runtime-Invocation-Id") is None
    run.finish()


@pytest.mark.parametrize("mode", [(), ("--invoke-mode", "response-stream")])
def test_the_background_work_runs_after_the_answer_and_before_the_next_request(
    runtime: Any, tmp_path: Path, mode: tuple[str, ...]
) -> None:
    seen: dict[str, list[str]] = {}

    def on_request(request: Recorded) -> None:
        names = sorted(p.name for p in tmp_path.iterdir())
        if request.method == "POST":
            seen.setdefault("at the answer", names)
        elif request.path.endswith("/invocation/next"):
            seen["at the next request"] = names

    run = runtime(f"{APPS}:asgi_handler", *mode)
    run.api.on_request = on_request
    request_id = run.api.invoke(build_event("function-url", "GET", "/later", f"dir={tmp_path}"))
    run.api.answer(request_id)
    second = run.api.invoke(v2_event("/hello"))
    run.api.answer(second)
    assert seen["at the answer"] == []
    assert seen["at the next request"] == ["after", "background"]
    assert (tmp_path / "after").read_text(encoding="utf-8") == "ran"
    run.finish()


def test_wsgi_work_after_the_answer_close_and_the_environ_hook(
    runtime: Any, tmp_path: Path
) -> None:
    seen: dict[str, list[str]] = {}

    def on_request(request: Recorded) -> None:
        names = sorted(p.name for p in tmp_path.iterdir())
        if request.method == "POST":
            seen.setdefault("at the answer", names)
        elif request.path.endswith("/invocation/next"):
            seen["at the next request"] = names

    run = runtime(f"{APPS}:wsgi_handler")
    run.api.on_request = on_request
    request_id = run.api.invoke(v2_event("/later", f"dir={tmp_path}"))
    assert json.loads(run.api.answer(request_id).body)["body"] == "answered"
    run.api.answer(run.api.invoke(v2_event("/hello")))
    assert seen["at the answer"] == []
    assert seen["at the next request"] == ["after", "closed"]
    assert (tmp_path / "closed").read_text(encoding="utf-8") == "call_on_close"
    assert (tmp_path / "after").read_text(encoding="utf-8") == "environ hook"
    run.finish()


def test_background_work_past_the_deadline_is_cancelled_with_a_log_line(
    runtime: Any, tmp_path: Path
) -> None:
    seen: list[list[str]] = []

    def on_request(request: Recorded) -> None:
        if request.path.endswith("/invocation/next") and len(run.api.requests) > 1:
            seen.append(sorted(p.name for p in tmp_path.iterdir()))

    run = runtime(f"{APPS}:asgi_handler")
    run.api.on_request = on_request
    request_id = run.api.invoke(v2_event("/later", f"dir={tmp_path}&sleep=30"), deadline_in=1.5)
    run.api.answer(request_id)
    run.api.answer(run.api.invoke(v2_event("/hello")))
    # Back at next well before the task's 30 s, the task cancelled there.
    assert "background-cancelled" in seen[0]
    assert "background" not in seen[0]
    _, out, _ = run.finish()
    lines = json_lines(out)
    assert [line["message"] for line in lines] == [
        "work after the response cancelled at the deadline"
    ]
    assert lines[0]["request_id"] == request_id
    assert lines[0]["budget_ms"] < 1500


def test_a_slow_wsgi_hook_is_interrupted_at_the_deadline(runtime: Any, tmp_path: Path) -> None:
    run = runtime(f"{APPS}:wsgi_handler")
    event = v2_event("/slow-later", f"dir={tmp_path}&sleep=30")
    request_id = run.api.invoke(event, deadline_in=1.5)
    run.api.answer(request_id)
    run.api.answer(run.api.invoke(v2_event("/hello")))
    assert not (tmp_path / "after").exists()
    _, out, _ = run.finish()
    assert [line["message"] for line in json_lines(out)] == [
        "work after the response cancelled at the deadline"
    ]


def test_a_failing_background_task_is_logged_and_the_answer_stands(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler")
    request_id = run.api.invoke(v2_event("/failing-later"))
    answer = json.loads(run.api.answer(request_id).body)
    assert answer["statusCode"] == 200
    run.api.answer(run.api.invoke(v2_event("/hello")))
    _, out, _ = run.finish()
    lines = json_lines(out)
    assert [line["message"] for line in lines] == ["work after the response failed"]
    assert lines[0]["error"] == "ValueError: the background task failed"
    assert lines[0]["request_id"] == request_id


@pytest.mark.parametrize("app", ["asgi_handler", "wsgi_handler"])
def test_the_tenant_id_reaches_the_app(runtime: Any, app: str) -> None:
    run = runtime(f"{APPS}:{app}")
    blue = run.api.invoke(v2_event("/hello"), tenant_id="blue")
    plain = run.api.invoke(v2_event("/hello"))
    assert json.loads(json.loads(run.api.answer(blue).body)["body"])["tenant"] == "blue"
    assert json.loads(json.loads(run.api.answer(plain).body)["body"])["tenant"] is None
    run.finish()


def test_the_context_and_the_trace_variable_come_from_each_invocation(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler")
    first = run.api.invoke(
        v2_event("/hello"), tenant_id="green", **{"Lambda-Runtime-Trace-Id": "Root=1-a-1"}
    )
    second = run.api.invoke(v2_event("/hello"), **{"Lambda-Runtime-Trace-Id": "Root=1-b-2"})
    one = json.loads(json.loads(run.api.answer(first).body)["body"])
    two = json.loads(json.loads(run.api.answer(second).body)["body"])
    assert (one["context_tenant"], one["trace"]) == ("green", "Root=1-a-1")
    assert (two["context_tenant"], two["trace"]) == (None, "Root=1-b-2")
    run.finish()


def test_an_event_no_route_takes_is_the_invocations_error(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler")
    request_id = run.api.invoke({"Records": [{"eventSource": "aws:sqs"}]}, invocation_id="i-9")
    post = run.api.answer(request_id)
    assert post.path == f"{BASE}/invocation/{request_id}/error"
    assert post.header("Lambda-Runtime-Function-Error-Type") == "UnsupportedEventError"
    assert post.header("Lambda-Runtime-Invocation-Id") == "i-9"
    error = json.loads(post.body)
    assert error["errorType"] == "UnsupportedEventError"
    assert error["requestId"] == request_id
    run.finish()


def test_a_gone_invocation_is_logged_and_the_loop_goes_on(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler")
    run.api.statuses["response"] = 410
    stale = run.api.invoke(v2_event("/hello"))
    run.api.answer(stale)
    fresh = run.api.invoke(v2_event("/hello"))
    run.api.answer(fresh)
    status, out, _ = run.finish()
    assert status == 70
    assert out.count("the invocation is gone (timed out or stale)") == 2


def test_an_import_that_fails_is_the_init_error(runtime: Any) -> None:
    run = runtime("tests.adapters.aws.runtime.no_such_module:handler")
    post = run.api.wait_for(lambda requests: [r for r in requests if r.method == "POST"])[0]
    assert post.path == f"{BASE}/init/error"
    assert post.header("Lambda-Runtime-Function-Error-Type") == "Runtime.ImportModuleError"
    assert "no_such_module" in json.loads(post.body)["errorMessage"]
    assert run.process.wait(timeout=60) == 1


def test_the_handler_may_be_named_as_lambda_names_it(runtime: Any) -> None:
    run = runtime(APPS.replace(".", "/") + ".asgi_handler")
    request_id = run.api.invoke(v2_event("/hello"))
    assert json.loads(run.api.answer(request_id).body)["statusCode"] == 200
    run.finish()


def test_managed_instances_run_a_worker_per_concurrent_request(
    runtime: Any, tmp_path: Path
) -> None:
    run = runtime(
        f"{APPS}:asgi_handler",
        AWS_LAMBDA_MAX_CONCURRENCY="3",
        AWS_LAMBDA_INITIALIZATION_TYPE="lambda-managed-instances",
    )
    # Three workers, each with its own init, all waiting in next at once.
    run.api.wait_for(
        lambda requests: len([r for r in requests if r.path.endswith("/invocation/next")]) >= 3
    )
    # Each request holds its worker until all three are in: a worker that took one
    # cannot come back for another, so three answers prove three workers at once.
    ids = [run.api.invoke(v2_event("/together", f"dir={tmp_path}&n=3")) for _ in range(3)]
    pids = {json.loads(json.loads(run.api.answer(i).body)["body"])["pid"] for i in ids}
    assert len(pids) == 3
    assert run.process.pid not in pids
    for _ in range(3):
        run.api.stop()
    assert run.process.wait(timeout=60) == 70


def test_a_worker_that_crashes_is_replaced(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler", AWS_LAMBDA_MAX_CONCURRENCY="2")

    def nexts(requests: list[Recorded]) -> int:
        return len([r for r in requests if r.path.endswith("/invocation/next")])

    run.api.wait_for(lambda requests: nexts(requests) >= 2)
    crashed = run.api.invoke(v2_event("/crash"))
    # The crashed worker's slot polls again: a new worker, with its own init.
    run.api.wait_for(lambda requests: nexts(requests) >= 3, timeout=60)
    assert run.api.posts(crashed) == []
    answers = [run.api.invoke(v2_event("/hello")) for _ in range(2)]
    assert all(json.loads(run.api.answer(a).body)["statusCode"] == 200 for a in answers)
    for _ in range(2):
        run.api.stop()
    assert run.process.wait(timeout=60) == 70


def test_the_cli_says_when_there_is_no_runtime_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.conftest import faasify

    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    completed = faasify("runtime", "app:app", cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "faasify runtime: AWS_LAMBDA_RUNTIME_API is not set: faasify runtime answers a Lambda "
        "Runtime API, so it runs inside a function (its exec wrapper or bootstrap) or under "
        "`faasify local`; to try a handler here, use `faasify serve` or `faasify invoke`"
    ]


def test_the_cli_refuses_an_invoke_mode_it_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.conftest import faasify

    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
    monkeypatch.setenv("FAASIFY_INVOKE_MODE", "streaming")
    completed = faasify("runtime", "app:app", cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        "faasify runtime: FAASIFY_INVOKE_MODE='streaming' is not an invoke mode: "
        "use buffered or response-stream (or BUFFERED, RESPONSE_STREAM)"
    ]
