"""``faasify local`` in Lambda's other modes, end to end, through a real HTTP client:
response streaming, SnapStart, several requests per instance, tenant isolation.

Each test starts ``faasify local`` as a process (as a user does) and talks to
it with httpx; the apps report what they did through files, which the tests
wait on. No test sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import Lines, free_port

ROOT = Path(__file__).resolve().parents[2]
APPS = "tests.support.runtime.apps"
SNAP = "tests.support.runtime.snap_apps:lambda_handler"


class Local:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.lines = Lines(process)
        self.lines.wait_for("faasify local: http://", timeout=120)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Any]:
    started: list[Local] = []

    def start(target: str, *args: str, **env: str) -> Local:
        port = free_port()
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FAASIFY_")},
            "PYTHONPATH": str(ROOT),
            **env,
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
        runtime = Local(process, port)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        if runtime.process.poll() is None:
            os.killpg(runtime.process.pid, signal.SIGINT)
        try:
            runtime.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(runtime.process.pid, signal.SIGKILL)
            runtime.process.wait(timeout=10)


def wait_until(condition: Any, timeout: float = 30.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:g}s")
        time.sleep(0.01)


def peak_rss_kb(pid: int) -> int:
    """The process's peak resident set (``VmHWM``), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


STREAM = ("--invoke-mode", "response-stream", "--max-instances", "1")


# -- response streaming --------------------------------------------------------------------


def test_sse_events_reach_the_client_as_they_are_produced(local: Any, tmp_path: Path) -> None:
    runtime = local(f"{APPS}:asgi_handler", *STREAM)
    seen_at_first: list[str] = []
    events: list[bytes] = []
    with httpx.stream("GET", f"{runtime.url}/sse", params={"n": 3, "dir": str(tmp_path)}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert r.headers["transfer-encoding"] == "chunked"
        buffer = b""
        for data in r.iter_raw():
            buffer += data
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                events.append(event)
                if len(events) == 1:
                    seen_at_first.extend(sorted(p.name for p in tmp_path.iterdir()))
                    # The last event waits for this file: made only now.
                    (tmp_path / "go").write_text("", encoding="utf-8")
    assert events == [b"id: 0\ndata: event 0", b"id: 1\ndata: event 1", b"id: 2\ndata: event 2"]
    # The client had the first event while the app had not made the last one.
    assert "produced-0" in seen_at_first
    assert "produced-2" not in seen_at_first
    line = runtime.lines.wait_for("GET /sse 200")
    assert "warm" in line or "cold" in line


def test_a_50_mb_download_streams_in_bounded_memory(local: Any) -> None:
    runtime = local(f"{APPS}:asgi_handler", *STREAM)
    with httpx.Client(base_url=runtime.url, timeout=120) as http:
        hello = http.get("/hello")
        instance = hello.json()["pid"]
        # Warm both sides with a small download first; then the peak is the big one's.
        with http.stream("GET", "/download", params={"mb": 1}) as r:
            for _ in r.iter_raw():
                pass
        before = peak_rss_kb(instance), peak_rss_kb(runtime.process.pid)
        received = 0
        with http.stream("GET", "/download", params={"mb": 50}) as r:
            assert r.headers["content-disposition"] == 'attachment; filename="data.bin"'
            for data in r.iter_raw():
                received += len(data)
        after = peak_rss_kb(instance), peak_rss_kb(runtime.process.pid)
    assert received == 50 * 1024 * 1024
    grown = (after[0] - before[0], after[1] - before[1])
    sys.stdout.write(
        f"\n50 MB streamed: instance peak RSS {before[0]} -> {after[0]} kB, "
        f"runtime {before[1]} -> {after[1]} kB\n"
    )
    # A whole 50 MB body would be 51,200 kB on either side; a stream stays far below.
    assert grown[0] < 16 * 1024, grown
    assert grown[1] < 16 * 1024, grown


def test_an_error_mid_stream_cuts_the_clients_body_short(local: Any) -> None:
    runtime = local(f"{APPS}:asgi_handler", *STREAM)
    received: list[bytes] = []

    def read() -> None:
        with httpx.stream("GET", f"{runtime.url}/boom-mid") as r:
            assert r.status_code == 200
            received.extend(r.iter_raw())

    with pytest.raises(httpx.RemoteProtocolError):
        read()
    assert b"".join(received) == b"first part;"
    runtime.lines.wait_for("the stream ended short")


def test_a_client_that_goes_away_stops_the_apps_generator(local: Any, tmp_path: Path) -> None:
    runtime = local(f"{APPS}:asgi_handler", *STREAM)
    with httpx.stream("GET", f"{runtime.url}/endless", params={"dir": str(tmp_path)}) as r:
        received = 0
        for data in r.iter_raw():
            received += len(data)
            if received > 64 * 1024:
                break
    stopped = wait_until(
        lambda: (tmp_path / "stopped").exists() and (tmp_path / "stopped").read_text(),
        what="the generator's finally",
    )
    assert int(stopped) > 0
    runtime.lines.wait_for("the client went away mid-stream")
    # The instance goes on serving.
    assert httpx.get(f"{runtime.url}/hello").json()["path"] == "/hello"


def test_work_after_the_answer_shows_in_the_log_after_the_request(
    local: Any, tmp_path: Path
) -> None:
    runtime = local(f"{APPS}:asgi_handler", "--max-instances", "1")
    answer = httpx.get(f"{runtime.url}/later", params={"dir": str(tmp_path), "sleep": "0.3"})
    assert answer.text == "answered"
    runtime.lines.wait_for("GET /later 200")
    line = runtime.lines.wait_for("after GET /later:")
    assert line.endswith("of work after the answer on instance-1")
    # The app sleeps 0.3 s after answering; the runtime's clock starts when the answer
    # reaches it, a moment after the sleep began, so the figure is a little under 300.
    assert float(line.split(": ", 1)[1].split(" ms", 1)[0]) >= 200
    assert (tmp_path / "background").exists()


def test_streaming_needs_a_front_door_that_streams(tmp_path: Path) -> None:
    from tests.cli.conftest import faasify

    completed = faasify(
        "local", f"{APPS}:asgi_handler", "--invoke-mode", "response-stream",
        "--event-format", "http-api-v2", cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        "faasify local: --invoke-mode response-stream needs --event-format function-url or "
        "rest-v1: http-api-v2 answers are buffered on AWS (HTTP APIs and ALBs do not stream)"
    ]


# -- SnapStart -----------------------------------------------------------------------------


def _together(url: str, count: int, directory: Path, path: str = "/together") -> list[Any]:
    answers: list[Any] = [None] * count

    def one(index: int) -> None:
        answers[index] = httpx.get(
            f"{url}{path}", params={"dir": str(directory), "n": count}, timeout=60
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_snapstart_inits_once_and_restores_each_instance(local: Any, tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    gate = tmp_path / "gate"
    hooks.mkdir()
    gate.mkdir()
    runtime = local(SNAP, "--snapstart", "--max-instances", "2", SNAP_TEST_DIR=str(hooks))
    answers = _together(runtime.url, 2, gate)
    assert [a.status_code for a in answers] == [200, 200]
    bodies = [a.json() for a in answers]
    assert bodies[0]["pid"] != bodies[1]["pid"]
    # What init made is the snapshot's, the same in both: SnapStart's pitfall.
    assert bodies[0]["at_init"] == bodies[1]["at_init"]
    # random was reseeded in each restored copy.
    assert bodies[0]["random"] != bodies[1]["random"]
    names = sorted(p.name for p in hooks.iterdir())
    assert names == sorted(["before", *(f"after-{b['pid']}" for b in bodies)])
    snapshot = runtime.lines.seen
    assert len([line for line in snapshot if "snapshot taken after an init of" in line]) == 1
    restores = [runtime.lines.wait_for("GET /together 200") for _ in range(2)]
    assert all("cold (restore " in line for line in restores)


def test_a_failing_restore_hook_fails_the_instance_loudly(local: Any, tmp_path: Path) -> None:
    runtime = local(SNAP, "--snapstart", SNAP_TEST_DIR=str(tmp_path), SNAP_FAIL="after")
    answer = httpx.get(f"{runtime.url}/random")
    assert answer.status_code == 502
    assert answer.json() == {
        "message": "the function failed: init failed: the restore failed: RuntimeError: "
        "the after-restore hook failed"
    }
    runtime.lines.wait_for("init failed: the restore failed")


@pytest.mark.postgres
def test_snapstart_restore_reopens_the_pool_with_no_failed_request(
    local: Any, tmp_path: Path, pg_url: str, tag: str
) -> None:
    from tests.support.servers import Servers

    servers = Servers(pg_url, None)
    hooks, gate = tmp_path / "hooks", tmp_path / "gate"
    hooks.mkdir()
    gate.mkdir()
    runtime = local(
        SNAP,
        "--snapstart",
        "--max-instances",
        "3",
        SNAP_TEST_DIR=str(hooks),
        FAASIFY_TEST_PG=pg_url,
        FAASIFY_TEST_TAG=tag,
    )
    # The snapshot's connection (opened at init) was closed before the snapshot.
    wait_until(lambda: servers.pg_backends(tag) == 0, what="no connection in the snapshot")
    # Three restored instances at once, then more requests on them: every one answers.
    first = _together(runtime.url, 3, gate)
    rest = [httpx.get(f"{runtime.url}/db", timeout=60) for _ in range(12)]
    statuses = [a.status_code for a in first + rest]
    assert statuses == [200] * 15
    assert all(r.json()["db"] == 1 for r in rest)
    pids = {a.json()["pid"] for a in first}
    assert len(pids) == 3
    # One connection per restored instance, each opened after its restore.
    wait_until(lambda: servers.pg_backends(tag) == 3, what="a connection per instance")
    for r in rest:
        assert r.json()["stats"]["dropped"] == 0


# -- several requests per instance, tenants --------------------------------------------------


def test_an_instance_serves_several_requests_at_once(local: Any, tmp_path: Path) -> None:
    runtime = local(f"{APPS}:asgi_handler", "--max-concurrency", "3", "--max-instances", "1")
    answers = _together(runtime.url, 3, tmp_path)
    assert [a.status_code for a in answers] == [200, 200, 200]
    # One environment, three worker processes: each request had its own.
    assert len({a.json()["pid"] for a in answers}) == 3
    lines = [runtime.lines.wait_for("GET /together 200") for _ in range(3)]
    assert all(line.split()[-1] == "instance-1" for line in lines)


def test_each_tenant_gets_instances_of_its_own(local: Any) -> None:
    runtime = local(f"{APPS}:asgi_handler", "--tenant-isolation", "--max-instances", "2")
    with httpx.Client(base_url=runtime.url) as http:
        missing = http.get("/hello")
        assert missing.status_code == 400
        assert (
            "X-Amz-Tenant-Id" in missing.json()["message"]
            or "x-amz-tenant-id" in (missing.json()["message"])
        )
        blue = http.get("/hello", headers={"X-Amz-Tenant-Id": "blue"}).json()
        green = http.get("/hello", headers={"X-Amz-Tenant-Id": "green"}).json()
        again = http.get("/hello", headers={"X-Amz-Tenant-Id": "blue"}).json()
        # A third tenant with both slots taken: an idle instance makes room.
        red = http.get("/hello", headers={"X-Amz-Tenant-Id": "red"}).json()
    assert (blue["tenant"], green["tenant"], again["tenant"], red["tenant"]) == (
        "blue",
        "green",
        "blue",
        "red",
    )
    assert blue["pid"] != green["pid"]
    assert again["pid"] == blue["pid"]
    assert red["pid"] not in (blue["pid"], green["pid"])
    runtime.lines.wait_for("tenant red")


def test_the_runtime_checks_that_invocation_ids_are_echoed() -> None:
    import asyncio

    from faasify.local.runtime import Scaler

    async def main() -> tuple[Any, Any]:
        scaler = Scaler(f"{APPS}:asgi_handler", cwd=str(ROOT), grace=1.0)
        await scaler.start()
        try:
            event = json.loads(json.dumps(_event("/hello")))
            return await scaler.invoke(event), await scaler.invoke(event)
        finally:
            await scaler.close()

    first, second = asyncio.run(main())
    assert (first.status, second.status) == (200, 200)
    assert first.echoed is True
    assert second.echoed is True


def _event(path: str) -> dict[str, Any]:
    from faasify.local.events import build_event

    event: dict[str, Any] = build_event("http-api-v2", "GET", path)
    return event
