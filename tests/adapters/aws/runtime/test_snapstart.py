"""SnapStart in faasify's loop: hooks around ``restore/next``, failures reported
loudly, pools closed before the snapshot; and faasify's hooks registered for
AWS's own runtime client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from faasify.adapters.aws.events import build_event
from tests.support.runtime.recorder import Recorded

APP = "tests.support.runtime.snap_apps:lambda_handler"
BASE = "/2018-06-01/runtime"


def snap(runtime: Any, directory: Path, **env: str) -> Any:
    return runtime(
        APP, AWS_LAMBDA_INITIALIZATION_TYPE="snap-start", SNAP_TEST_DIR=str(directory), **env
    )


def test_the_hooks_run_around_restore_next_and_then_the_loop_begins(
    runtime: Any, tmp_path: Path
) -> None:
    seen: dict[str, list[str]] = {}

    def on_request(request: Recorded) -> None:
        names = sorted(p.name for p in tmp_path.iterdir())
        seen.setdefault(request.path, names)

    run = snap(runtime, tmp_path)
    run.api.on_request = on_request
    request_id = run.api.invoke(build_event("http-api-v2", "GET", "/random"))
    answer = json.loads(run.api.answer(request_id).body)
    assert answer["statusCode"] == 200
    paths = [r.path for r in run.api.requests]
    assert paths[:2] == [f"{BASE}/restore/next", f"{BASE}/invocation/next"]
    # Before the snapshot: the user's hook ran, the restore hook had not.
    assert seen[f"{BASE}/restore/next"] == ["before"]
    # After the restore, before the first request: the restore hook ran.
    pid = json.loads(answer["body"])["pid"]
    assert seen[f"{BASE}/invocation/next"] == ["after-" + str(pid), "before"]
    run.finish()


def test_a_failing_restore_hook_fails_the_restore_loudly(runtime: Any, tmp_path: Path) -> None:
    run = snap(runtime, tmp_path, SNAP_FAIL="after")
    assert run.process.wait(timeout=60) == 65
    posts = [r for r in run.api.requests if r.method == "POST"]
    assert [p.path for p in posts] == [f"{BASE}/restore/error"]
    assert posts[0].header("Lambda-Runtime-Function-Error-Type") == "Runtime.AfterRestoreError"
    error = json.loads(posts[0].body)
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "the after-restore hook failed"
    out = run.process.stdout.read()
    assert "an after-restore hook failed" in out
    assert not any(r.path.endswith("/invocation/next") for r in run.api.requests)


def test_a_failing_snapshot_hook_fails_the_init(runtime: Any, tmp_path: Path) -> None:
    run = snap(runtime, tmp_path, SNAP_FAIL="before")
    assert run.process.wait(timeout=60) == 64
    posts = [r for r in run.api.requests if r.method == "POST"]
    assert [p.path for p in posts] == [f"{BASE}/init/error"]
    assert posts[0].header("Lambda-Runtime-Function-Error-Type") == "Runtime.BeforeSnapshotError"
    assert not any(r.path.endswith("/restore/next") for r in run.api.requests)


@pytest.mark.postgres
def test_the_pool_is_closed_in_the_snapshot_and_reopens_after_it(
    runtime: Any, tmp_path: Path, pg_url: str, tag: str
) -> None:
    from tests.support.servers import Servers

    servers = Servers(pg_url, None)
    at_snapshot: list[int] = []

    def on_request(request: Recorded) -> None:
        if request.path.endswith("/restore/next"):
            # The server's own count, polled: the close reaches it a moment
            # after the client has sent it.
            deadline = time.monotonic() + 10
            count = servers.pg_backends(tag)
            while count and time.monotonic() < deadline:
                time.sleep(0.02)
                count = servers.pg_backends(tag)
            at_snapshot.append(count)

    run = snap(runtime, tmp_path, FAASIFY_TEST_PG=pg_url, FAASIFY_TEST_TAG=tag)
    run.api.on_request = on_request
    ids = [run.api.invoke(build_event("http-api-v2", "GET", "/db")) for _ in range(3)]
    bodies = [json.loads(json.loads(run.api.answer(i).body)["body"]) for i in ids]
    assert at_snapshot == [0]
    assert [b["db"] for b in bodies] == [1, 1, 1]
    # One connection at init (closed for the snapshot), one after the restore.
    assert bodies[-1]["stats"] == {"opened": 2, "reused": 2, "revalidated": 0, "dropped": 0}
    assert servers.pg_backends(tag) == 1
    run.finish()


def test_faasify_registers_its_hooks_for_awss_runtime_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import random

    import snapshot_restore_py
    from awslambdaric import lambda_runtime_hooks_runner

    from faasify import handler
    from faasify.adapters.aws.runtime import snapstart
    from tests.support.apps import flask_app

    monkeypatch.setattr(snapstart, "_registered", False)
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    lambda_handler = handler(flask_app(), handle_signals=False)
    try:
        assert [f for f, _, _ in snapshot_restore_py.get_before_snapshot()] == [
            snapstart.close_pools
        ]
        assert [f for f, _, _ in snapshot_restore_py.get_after_restore()] == [snapstart.reseed]
        # AWS's runner runs them: the state random had at the snapshot does not survive.
        random.seed(7)
        lambda_runtime_hooks_runner.run_before_snapshot()
        lambda_runtime_hooks_runner.run_after_restore()
        expected = random.Random(7).random()
        assert random.random() != expected
    finally:
        lambda_handler.close()
