"""The demo's panel in a browser: the three stages' figures move as users act.

``python -m examples.todolist`` is started as a user starts it, on a PostgreSQL
database of the test's own (so connections are ``pg_stat_activity``'s count), two
instances per stage at most. Headless Chromium opens the panel, signs a user in
on the pooled stage's page and adds todos (cold starts, a connection), then
starts four users on every stage at once, and checks what the panel says
against what each stage is: the stateful stage loses and duplicates todos
across its instances, the pooled one holds a connection per instance, the BaaS
one none in its functions and no more than the service's pool. A screenshot of
the panel goes to ``test-artifacts/todolist-panel/`` (the one in
docs/img/todolist-panel.png comes from this test).
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.todolist.test_demo_page import Demo
from tests.todolist.test_page import WAIT_MS, launched_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "todolist-panel"
#: Seconds for four users on each of the three stages, cold starts included, on 2
#: loaded cores.
CROWD_WITHIN = 120
#: The data service's pool in the demo (examples.todolist.service.build_service).
SERVICE_POOL = 5


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_chromium(ARTIFACTS)


@pytest.fixture
def panel_pg(pg_url: str) -> Iterator[str]:
    """A database of the test's own: its connections are the demo's only."""
    import psycopg

    name = f"todolist_panel_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _figures(url: str) -> Any:
    with urllib.request.urlopen(url + "panel/api/figures", timeout=10) as answer:
        return json.loads(answer.read())


@pytest.mark.browser
@pytest.mark.postgres
def test_the_panel_follows_clicks_and_shows_each_stage_under_a_crowd(
    browser: Browser, tmp_path: Path, panel_pg: str
) -> None:
    from playwright.sync_api import expect

    # Instances live long enough to be counted; two at most, so a crowd of four fills them.
    options = ["--max-instances", "2", "--idle-timeout", "600"]
    demo = Demo(options, tmp_path, env={"DATABASE_URL": panel_pg})
    context = browser.new_context(viewport={"width": 800, "height": 900}, device_scale_factor=2)
    context.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    try:
        url = demo.wait_url(60).group(3)
        panel = context.new_page()
        panel.on("pageerror", lambda error: errors.append(str(error)))
        panel.goto(url + "panel/")
        card = {stage: panel.get_by_test_id(f"stage-{stage}") for stage in STAGES}

        # Nothing has run: every stage is scaled to zero.
        for stage in STAGES:
            expect(card[stage].get_by_test_id("running")).to_have_text("0 of 2")
            expect(card[stage].get_by_test_id("cold-starts")).to_have_text("0")
            expect(card[stage].get_by_test_id("connections")).to_have_text("0")
        expect(panel.get_by_test_id("connection-source")).to_have_text("pg_stat_activity")
        expect(card["baas"].get_by_test_id("service-connections")).to_have_text(re.compile(r"^\d$"))
        expect(card["pooled"].get_by_test_id("service-connections")).to_be_hidden()

        # A user on the pooled stage's page: the panel follows each click.
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "pooled/")
        page.get_by_test_id("login-username").fill(f"panel-{uuid.uuid4().hex[:6]}")
        page.get_by_test_id("login-submit").click()
        # The badge names the stage at once, without a reload.
        expect(page.get_by_test_id("stage-name")).to_have_text("pooled")
        expect(page.get_by_test_id("empty")).to_be_visible()
        page.get_by_test_id("new-text").fill("watch the panel")
        page.get_by_test_id("add-submit").click()
        expect(page.get_by_test_id("todo-text").first).to_have_text("watch the panel")
        # The page's own files arrive together, so one or two instances started cold;
        # those that queried the database hold a connection each.
        expect(card["pooled"].get_by_test_id("running")).to_have_text(re.compile(r"^[12] of 2$"))
        running = card["pooled"].get_by_test_id("running").inner_text().split()[0]
        expect(card["pooled"].get_by_test_id("cold-starts")).to_have_text(running)
        expect(card["pooled"].get_by_test_id("connections")).to_have_text(
            re.compile(rf"^[1-{running}]$")
        )
        before = int(card["pooled"].get_by_test_id("invocations").inner_text())
        page.get_by_test_id("new-text").fill("and again")
        page.get_by_test_id("add-submit").click()
        expect(card["pooled"].get_by_test_id("invocations")).not_to_have_text(str(before))
        for stage in ("stateful", "baas"):
            expect(card[stage].get_by_test_id("running")).to_have_text("0 of 2")

        # Four users at once on every stage.
        panel.get_by_test_id("crowd-users").fill("4")
        expect(panel.get_by_test_id("crowd-start")).to_have_text("Start 4 users on every stage")
        panel.get_by_test_id("crowd-start").click()
        expect(panel.get_by_test_id("crowd-status")).to_have_text(
            re.compile(r"^Done: 4 users on every stage"), timeout=CROWD_WITHIN * 1000
        )
        for stage in STAGES:
            expect(card[stage].get_by_test_id("running")).to_have_text("2 of 2")
            expect(card[stage].get_by_test_id("crowd-result")).to_be_visible()
        expect(card["stateful"].get_by_test_id("cold-starts")).to_have_text("2")
        expect(card["pooled"].get_by_test_id("cold-starts")).to_have_text("2")  # one was warm

        # Stateful: each instance kept its own list.
        expect(card["stateful"].get_by_test_id("verdict")).to_have_text(
            re.compile(r"^Lost \d+ of 20 saved todos; \d+ share an id with another\.$")
        )
        # Pooled: all there, and a connection per instance, as PostgreSQL counts them.
        expect(card["pooled"].get_by_test_id("verdict")).to_have_text(
            "All 20 saved todos are in their users' lists."
        )
        expect(card["pooled"].get_by_test_id("connections")).to_have_text("2")
        # BaaS: all there, no connection in the functions, the service's pool at most.
        expect(card["baas"].get_by_test_id("verdict")).to_have_text(
            "All 20 saved todos are in their users' lists."
        )
        expect(card["baas"].get_by_test_id("connections")).to_have_text("0")
        expect(card["stateful"].get_by_test_id("connections")).to_have_text("0")
        service = int(card["baas"].get_by_test_id("service-connections").inner_text())
        assert 1 <= service <= SERVICE_POOL

        # What the panel showed is what its source says.
        figures = _figures(url)
        results = figures["crowd"]["results"]
        assert results["stateful"]["lost"] > 0
        assert results["stateful"]["duplicate_ids"] > 0
        for stage in ("pooled", "baas"):
            assert (results[stage]["lost"], results[stage]["duplicate_ids"]) == (0, 0)
        assert all(results[stage]["refused"] == 0 for stage in STAGES)
        assert figures["connections"]["functions"] == {"stateful": 0, "pooled": 2, "baas": 0}
        assert len(figures["stages"]["pooled"]["instances"]) == 2
        panel.wait_for_timeout(0)  # let the last poll's render land before the picture
        _snap(panel, tmp_path)
        assert not errors, errors
    finally:
        context.close()
        code = demo.interrupt()
    output = demo.output()
    assert code == 0, output
    assert "Traceback" not in output, output


STAGES = ("stateful", "pooled", "baas")


def _snap(page: Any, tmp_path: Path) -> None:
    shot = tmp_path / "panel.png"
    page.screenshot(path=str(shot), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / shot.name)
