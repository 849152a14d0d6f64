"""``python -m examples.todolist``'s one address: the stages, the panel and its API.

The demo is started as ``make demo`` starts it (SQLite under the test's own
temporary directory), and spoken to over HTTP: each stage answers under its
prefix as an API Gateway named stage, ``/`` is the chosen stage, the panel's
API refuses what it cannot run, and a crowd's figures come back from the
panel.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.todolist.test_demo_page import Demo


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_plain = urllib.request.build_opener(_NoRedirect)


def _call(url: str, method: str = "GET", payload: Any = None, raw: bytes | None = None) -> Any:
    """``(status, headers, body)``, whatever the status."""
    data = raw if raw is not None else None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with _plain.open(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("gateway")
    running = Demo(["--stage", "pooled", "--max-instances", "2", "--idle-timeout", "600"], tmp)
    try:
        yield running.wait_url(60).group(3)
    finally:
        code = running.interrupt()
        assert code == 0, running.output()
        assert "Traceback" not in running.output(), running.output()


def test_each_stage_answers_under_its_prefix_and_slash_is_the_chosen_stage(demo: str) -> None:
    status, headers, _ = _call(demo + "stateful")
    assert (status, headers["location"]) == (308, "/stateful/")
    for prefix, stage in (("stateful/", "stateful"), ("baas/", "baas"), ("", "pooled")):
        status, headers, page = _call(demo + prefix)
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        assert b'href="static/style.css"' in page  # relative, so it stays under the prefix
        assert _call(demo + prefix + "static/app.js")[0] == 200
        status, _, body = _call(demo + prefix + "api/login", "POST", {"username": "gw-user"})
        assert status == 200
        assert json.loads(body)["user"]["stage"] == stage
    assert _call(demo + "stateful/api/nothing-here")[0] == 404


def test_the_panel_refuses_crowds_it_cannot_run(demo: str) -> None:
    status, headers, _ = _call(demo + "panel")
    assert (status, headers["location"]) == (308, "/panel/")
    status, headers, page = _call(demo + "panel/")
    assert status == 200
    assert b"One function, three stages, live" in page
    for raw in (b"{not json", b"[]", b'{"users": 0}', b'{"users": 33}', b'{"users": true}'):
        status, _, body = _call(demo + "panel/api/crowd", "POST", raw=raw)
        assert status == 400, raw
        assert json.loads(body) == {"detail": "users must be a whole number from 1 to 32"}
    status, _, body = _call(demo + "panel/api/crowd", "POST", {"users": "8"})
    assert status == 400
    assert json.loads(_call(demo + "panel/api/figures")[2])["crowd"] is None  # nothing ran


def test_a_crowd_runs_once_at_a_time_and_the_panel_reports_it(demo: str) -> None:
    status, _, body = _call(demo + "panel/api/crowd", "POST", {"users": 3})
    assert status == 202
    assert json.loads(body) == {"users": 3, "stages": ["stateful", "pooled", "baas"]}
    assert _call(demo + "panel/api/crowd", "POST", {"users": 3})[0] == 409  # still running
    deadline = time.monotonic() + 120
    while True:
        figures = json.loads(_call(demo + "panel/api/figures")[2])
        if not figures["crowd"]["running"]:
            break
        assert time.monotonic() < deadline, figures
        time.sleep(0.2)
    results = figures["crowd"]["results"]
    assert set(results) == {"stateful", "pooled", "baas"}
    for stage in ("pooled", "baas"):
        assert results[stage]["saved"] == results[stage]["listed"] == 15
        assert results[stage]["lost"] == results[stage]["duplicate_ids"] == 0
    assert results["stateful"]["saved"] == 15
    for stage, figure in figures["stages"].items():
        assert figure["running"] == 2, stage  # three users at once, two instances at most
        assert figure["cold_starts"] >= 2
        assert figure["invocations"] >= results[stage]["requests"]
    if Path("/proc/self/fd").is_dir():  # SQLite: the handles on the file, per holder
        connections = figures["connections"]
        assert connections["counted"]
        assert connections["functions"]["stateful"] == connections["functions"]["baas"] == 0
        assert connections["functions"]["pooled"] == 2
        assert connections["service"] >= 1  # the service's own, in this process
    status, _, _ = _call(demo + "panel/api/crowd", "POST", {"users": 1})
    assert status == 202  # done, so another may start
