"""The live example: a todolist page hears of a change made in another tab, in faasify local.

``faasify local`` plays API Gateway's WebSocket API: the page's socket to
``live`` is a connection whose events the function handles, and a todo added in
one tab reaches the other tab through the runtime's ``@connections``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.todolist.test_page import ROOT, launched_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ARTIFACTS = ROOT / "test-artifacts" / "todolist-live"
WAIT_MS = 20_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def local_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        **os.environ,
        "TODO_STAGE": "stateful",
        "TODO_LIVE": "1",
        "TODO_SECRET": "live-example-secret-0123456789abcdef",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)  # one instance: its memory holds the connections
    log = (tmp_path_factory.mktemp("live") / "local.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "faasify.cli", "local", "examples.todolist.fastapi_app:handler",
         "--port", "0", "--max-instances", "1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = None
    deadline = time.monotonic() + 90
    while url is None and time.monotonic() < deadline and process.poll() is None:
        log.seek(0)
        for line in log.read().splitlines():
            if "faasify local: http://" in line:
                url = line.split("faasify local: ", 1)[1].split(" ", 1)[0]
        time.sleep(0.1)
    log.seek(0)
    assert url is not None, log.read()
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_chromium(ARTIFACTS)


def test_a_todo_added_in_one_tab_appears_in_the_other(browser: Browser, local_url: str) -> None:
    context = browser.new_context()
    try:
        first = context.new_page()
        first.goto(local_url + "/")
        first.get_by_test_id("login-username").fill(f"live-{uuid.uuid4().hex[:8]}")
        first.get_by_test_id("login-username").press("Enter")
        first.wait_for_selector("body[data-live='on']", timeout=WAIT_MS)
        second = context.new_page()  # the same browser: the same signed-in user
        second.goto(local_url + "/")
        second.wait_for_selector("body[data-live='on']", timeout=WAIT_MS)
        assert second.get_by_test_id("todo-item").count() == 0

        first.get_by_test_id("new-text").fill("milk, from the other tab")
        first.get_by_test_id("add-submit").click()

        second.get_by_test_id("todo-text").get_by_text("milk, from the other tab").wait_for(
            timeout=WAIT_MS
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        second.screenshot(path=str(ARTIFACTS / "second-tab.png"), full_page=True)
        assert second.get_by_test_id("todo-item").count() == 1
    finally:
        context.close()
