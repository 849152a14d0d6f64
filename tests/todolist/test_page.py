"""The todolist page, end to end, in real headless Chromium.

Each deployment is started as a user starts it: the function (the Flask or the
FastAPI app, through its faasify handler) behind ``faasify local``, which feeds
it real Lambda events from real instance processes; for the BaaS stage the todo
data service runs under uvicorn beside it. Data lives in SQLite files under the
test's temporary directory. The browser is Debian's Chromium, driven by
Playwright's Python package with ``executable_path``, so nothing is downloaded.

What is checked is what a user sees: the list's exact texts and done marks after
a reload, and a clear message (the ``role="alert"`` area) with nothing changed
for every refused input. A screenshot of every scenario is kept under the test's
temporary directory and copied to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "todolist-page"
SECRET = "todolist-page-test-secret"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Milliseconds a Playwright wait may take before the test fails.
WAIT_MS = 20_000
#: Seconds every server has to answer (a deadline: a loaded machine starts them slowly).
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class Deployment:
    framework: str  # "flask" or "fastapi"
    stage: str  # "stateful", "pooled" or "baas"
    #: For the BaaS stage: point the function at a port where no data service listens.
    service_down: bool = False
    #: Behind ``faasify local --invoke-mode response-stream``: answers stream.
    streamed: bool = False

    @property
    def name(self) -> str:
        return (
            f"{self.framework}-{self.stage}"
            + ("-service-down" if self.service_down else "")
            + ("-streamed" if self.streamed else "")
        )


DEPLOYMENTS = [
    Deployment(framework, stage)
    for stage in ("stateful", "pooled", "baas")
    for framework in ("fastapi", "flask")
]
SERVICE_DOWN = Deployment("flask", "baas", service_down=True)
STREAMED = Deployment("fastapi", "pooled", streamed=True)


# -- the browser -------------------------------------------------------------------------


def _chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launched_chromium(artifacts: Path) -> Iterator[Browser]:
    """Headless Chromium for a test module, skipping with a reason when it (or
    Playwright) is missing; ``artifacts`` is emptied for this run's screenshots."""
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "Chromium is not installed: apt-get install chromium chromium-driver "
            "(or set CHROMIUM_PATH)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed: pip install -e '.[dev]'")
    shutil.rmtree(artifacts, ignore_errors=True)  # this run's screenshots only
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for these tests; each test opens its own context.

    Every wait of the tests is on a condition (an element, a text, a count); its
    deadline, for actions and assertions alike, is ``WAIT_MS`` (see ``page``).
    """
    yield from launched_chromium(ARTIFACTS)


# -- the servers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server process in its own process group, with its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, url: str, deadline: float) -> None:
        """Until ``url`` answers 200 (for a function: its first cold start is done)."""
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(url, timeout=5.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer {url} in time:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, lines: int = 40) -> str:
        self._log_file.flush()
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> None:
        """Ask the process group to end (SIGTERM), without waiting."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """End the process group: SIGTERM, then SIGKILL after 10 s; close the log."""
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log_file.close()


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TODO_SECRET=SECRET, PYTHONUNBUFFERED="1", **values)
    return env


@pytest.fixture(scope="module")
def deployments(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Every deployment's base URL; all are started at once so their cold starts overlap."""
    data = tmp_path_factory.mktemp("todolist-data")
    service_port = _free_port()
    servers: list[tuple[Server, str]] = []
    urls: dict[str, str] = {}
    try:
        service = Server(
            "service",
            [
                *(sys.executable, "-m", "uvicorn", "examples.todolist.service:app"),
                *("--host", "127.0.0.1", "--port", str(service_port), "--log-level", "warning"),
            ],
            _env(DATABASE_URL=f"sqlite:///{data / 'service.db'}"),
            data,
        )
        servers.append((service, f"http://127.0.0.1:{service_port}/healthz"))
        closed_port = _free_port()  # nothing listens there
        for deployment in [*DEPLOYMENTS, SERVICE_DOWN, STREAMED]:
            port = _free_port()
            baas_port = closed_port if deployment.service_down else service_port
            # One instance each: the stateful stage keeps its todos in that one process
            # (two instances would show two lists), and one cold start keeps the test fast.
            # It lives as long as the module: with the default 60 s idle timeout, a
            # deployment left idle while the other tests ran (over a minute on a loaded
            # machine) was scaled to zero, and its next request, a login click say, waited
            # for a cold start of several seconds (and found the stateful stage's todos gone).
            handler = f"examples.todolist.{deployment.framework}_app:handler"
            command = [sys.executable, "-m", "faasify.cli", "local", handler]
            command += ["--port", str(port), "--max-instances", "1", "--idle-timeout", "86400"]
            if deployment.streamed:
                command += ["--invoke-mode", "response-stream"]
            env = _env(
                TODO_STAGE=deployment.stage,
                DATABASE_URL=f"sqlite:///{data / (deployment.name + '.db')}",
                TODO_BAAS_URL=f"http://127.0.0.1:{baas_port}",
            )
            server = Server(deployment.name, command, env, data)
            urls[deployment.name] = f"http://127.0.0.1:{port}/"
            servers.append((server, urls[deployment.name]))
        deadline = time.monotonic() + START_TIMEOUT
        for server, url in servers:
            server.wait_ready(url, deadline)
        yield urls
    finally:
        for server, _ in servers:
            server.terminate()
        for server, _ in servers:
            server.stop()


# -- helpers -------------------------------------------------------------------------------


class API:
    """The same user's API, straight: what the server holds, and a second window's changes."""

    def __init__(self, base_url: str, username: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=10.0)
        answer = self.client.post("api/login", json={"username": username})
        answer.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def todos(self) -> list[tuple[str, bool]]:
        answer = self.client.get("api/todos", params={"limit": 100})
        answer.raise_for_status()
        return [(item["text"], item["done"]) for item in answer.json()["items"]]

    def ids(self) -> dict[str, int]:
        answer = self.client.get("api/todos", params={"limit": 100})
        return {item["text"]: item["id"] for item in answer.json()["items"]}

    def stage(self) -> str | None:
        answer = self.client.get("api/currentUser")
        answer.raise_for_status()
        stage: str | None = answer.headers.get("X-Todo-Stage") or answer.json()["data"].get("stage")
        return stage


@dataclass
class Page:
    """A browser tab on one deployment, signed in as a fresh user."""

    page: Any
    deployment: Deployment
    base_url: str
    username: str
    errors: list[str]
    shots: Path
    name: str

    def snap(self, label: str) -> None:
        """A full-page screenshot under the test's tmp dir, copied to test-artifacts/."""
        shot = self.shots / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, ARTIFACTS / shot.name)

    def by(self, testid: str) -> Any:
        return self.page.get_by_test_id(testid)

    def message(self) -> str:
        text: str = self.by("message").inner_text()
        return text.strip()

    def shown(self) -> list[tuple[str, bool]]:
        """The list exactly as displayed: each item's text and whether it is ticked."""
        items = self.by("todo-item")
        return [
            (
                items.nth(i).get_by_test_id("todo-text").inner_text(),
                items.nth(i).get_by_test_id("todo-done").is_checked(),
            )
            for i in range(items.count())
        ]

    def item(self, text: str) -> Any:
        return self.by("todo-item").filter(
            has=self.page.get_by_test_id("todo-text").get_by_text(text, exact=True)
        )

    def add(self, text: str) -> None:
        self.by("new-text").fill(text)
        self.by("add-submit").click()

    def wait_idle(self) -> None:
        """Until no request of the page is in flight (every button enabled again)."""
        self.page.wait_for_function(
            "() => !document.querySelector('button:disabled, input:disabled')", timeout=WAIT_MS
        )


@pytest.fixture
def page(
    browser: Browser,
    deployments: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Page]:
    """A new browser context on the test's deployment, signed in; screenshot at the end."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)  # assertions wait as long as actions do
    deployment: Deployment = request.param
    base_url = deployments[deployment.name]
    context = browser.new_context(base_url=base_url, viewport={"width": 900, "height": 800})
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    username = f"{deployment.name}-{uuid.uuid4().hex[:8]}"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shown = Page(tab, deployment, base_url, username, errors, tmp_path, name)
    try:
        tab.goto(base_url)
        tab.get_by_test_id("login-username").fill(username)
        tab.get_by_test_id("login-submit").click()
        expect(tab.get_by_test_id("current-user")).to_have_text(username)
        if not deployment.service_down:
            expect(tab.get_by_test_id("empty")).to_be_visible()
        yield shown
    finally:
        try:
            shown.snap("end")  # also, and above all, when the test failed
        finally:
            context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def api(page: Page) -> Iterator[API]:
    """The page's user, straight through the API."""
    direct = API(page.base_url, page.username)
    try:
        yield direct
    finally:
        direct.client.close()


def _ids(deployments: list[Deployment]) -> list[Any]:
    return [pytest.param(d, id=d.name) for d in deployments]


# -- the scenarios -------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("page", _ids(DEPLOYMENTS), indirect=True)
def test_add_complete_edit_delete_then_reload(page: Page, api: API) -> None:
    from playwright.sync_api import expect

    for text in ("Buy milk", "Write the report", "Call Alice"):
        page.add(text)
        expect(page.by("todo-text").first).to_have_text(text)
        expect(page.by("new-text")).to_have_value("")
    assert page.shown() == [("Call Alice", False), ("Write the report", False), ("Buy milk", False)]

    page.item("Buy milk").get_by_test_id("todo-done").check()
    expect(page.item("Buy milk")).to_have_class(re.compile(r"\bdone\b"))

    page.item("Write the report").get_by_test_id("todo-edit").click()
    page.by("todo-edit-input").fill("Write <b>the</b> report & send it")
    page.by("todo-edit-input").press("Enter")
    expect(page.item("Write <b>the</b> report & send it")).to_have_count(1)

    page.item("Call Alice").get_by_test_id("todo-delete").click()
    expect(page.item("Call Alice")).to_have_count(0)
    page.wait_idle()

    expected = [("Write <b>the</b> report & send it", False), ("Buy milk", True)]
    assert api.todos() == expected
    page.page.reload()
    expect(page.by("todo-item")).to_have_count(2)
    assert page.shown() == expected
    assert page.message() == ""
    expect(page.by("current-user")).to_have_text(page.username)
    assert page.page.locator("[data-testid=todo-list] b").count() == 0  # text, never markup

    # The stage is shown when the API tells it (a header or a currentUser field).
    if api.stage() is None:
        expect(page.by("stage")).to_be_hidden()
    else:
        assert api.stage() == page.deployment.stage
        expect(page.by("stage-name")).to_have_text(page.deployment.stage)

    # One todo a page: "Load more" follows the API's cursor to the end.
    page.page.goto(page.base_url + "?limit=1")
    expect(page.by("todo-item")).to_have_count(1)
    page.by("load-more").click()
    expect(page.by("todo-item")).to_have_count(2)
    expect(page.by("load-more")).to_be_hidden()
    assert page.shown() == expected

    # Another user sees none of it; signing out forgets the token.
    page.by("sign-out").click()
    expect(page.by("login")).to_be_visible()
    assert page.page.evaluate("() => localStorage.length") == 0
    page.by("login-username").fill(page.username + "-other")
    page.by("login-submit").click()
    expect(page.by("current-user")).to_have_text(page.username + "-other")
    expect(page.by("empty")).to_be_visible()
    assert page.shown() == []


@pytest.mark.browser
@pytest.mark.parametrize("page", _ids([STREAMED]), indirect=True)
def test_the_export_downloads_every_todo_as_it_streams(page: Page, api: API) -> None:
    import csv

    from playwright.sync_api import expect

    for text in ("Buy milk", "=1+1", "Call Alice"):
        page.add(text)
        expect(page.item(text)).to_have_count(1)
    with page.page.expect_download() as download:
        page.by("export").click()
    expect(page.by("export-progress")).to_have_text("3 rows exported.")
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(saved.splitlines()))
    assert rows[0] == ["id", "text", "done", "createdAt", "updatedAt"]
    # Newest first; a text a spreadsheet would take for a formula is quoted out.
    assert [row[1] for row in rows[1:]] == ["Call Alice", "'=1+1", "Buy milk"]
    assert download.value.suggested_filename == "todos.csv"
    assert page.message() == ""


# Each stage and each framework once: the page is the same, the refusals come from the store.
BAD_INPUT = [Deployment("flask", "stateful"), Deployment("fastapi", "pooled")]
BAD_INPUT += [Deployment("flask", "baas")]


@pytest.mark.browser
@pytest.mark.parametrize("page", _ids(BAD_INPUT), indirect=True)
def test_bad_input_is_explained_and_changes_nothing(page: Page, api: API) -> None:
    from playwright.sync_api import expect

    for text in ("Keep me", "Edit me", "Tick me"):
        page.add(text)
        expect(page.by("todo-text").first).to_have_text(text)
    page.wait_idle()
    before = [("Tick me", False), ("Edit me", False), ("Keep me", False)]
    message = page.by("message")

    page.add("   ")
    expect(message).to_have_text("Write something first: a todo cannot be empty.")
    assert page.page.get_by_role("alert").inner_text().strip() == page.message()

    page.add("x" * 10_000)
    expect(message).to_have_text("A todo can be at most 500 characters; this one has 10000.")
    expect(page.by("new-text")).to_have_value("x" * 10_000)  # kept, for the user to shorten
    # The server refuses it too, and the page says why, were the page's own check skipped.
    page.page.evaluate("() => { document.body.dataset.maxLength = '100000'; }")
    page.by("add-submit").click()
    expect(message).to_have_text(re.compile(r"^[A-Z].*500 characters.*\.$"))
    expect(message).not_to_contain_text("this one has")
    page.wait_idle()
    page.snap("too-long")
    assert page.shown() == before
    assert api.todos() == before

    page.item("Edit me").get_by_test_id("todo-edit").click()
    page.by("todo-edit-input").fill("")
    page.by("todo-edit-input").press("Enter")
    expect(message).to_have_text("Write something first: a todo cannot be empty.")
    expect(page.by("todo-edit-input")).to_be_visible()
    page.by("todo-edit-input").press("Escape")
    assert page.shown() == before

    # Another window deletes two todos; this one still shows them.
    ids = api.ids()
    for text in ("Edit me", "Tick me"):
        assert api.client.delete(f"api/todos/{ids[text]}").status_code == 204
    gone = "That todo no longer exists: it was deleted elsewhere. Nothing was changed."
    page.item("Edit me").get_by_test_id("todo-edit").click()
    page.by("todo-edit-input").fill("Edited too late")
    page.by("todo-edit-input").press("Enter")
    expect(message).to_have_text(gone)
    page.snap("deleted-meanwhile")
    assert page.shown() == [("Tick me", False), ("Keep me", False)]
    page.item("Tick me").get_by_test_id("todo-done").click()
    expect(message).to_have_text(gone)
    assert page.shown() == [("Keep me", False)]

    assert api.todos() == [("Keep me", False)]
    page.page.reload()
    expect(page.by("todo-item")).to_have_count(1)
    assert page.shown() == [("Keep me", False)]
    assert page.message() == ""


def _refuse(status: int, retry_after: str, method: str) -> Any:
    """A route handler answering ``method`` requests as a throttled service would."""

    def handle(route: Any) -> None:
        if route.request.method != method:
            route.continue_()
            return
        body = {"type": "about:blank", "title": "Busy", "status": status, "detail": "busy"}
        route.fulfill(
            status=status,
            headers={"Retry-After": retry_after},
            content_type="application/problem+json",
            json=body,
        )

    return handle


@pytest.mark.browser
@pytest.mark.parametrize("page", _ids([Deployment("fastapi", "baas")]), indirect=True)
def test_busy_service_and_ended_session_on_a_narrow_screen(page: Page, api: API) -> None:
    from playwright.sync_api import expect

    page.page.set_viewport_size({"width": 360, "height": 740})
    page.add("Stay")
    expect(page.item("Stay")).to_have_count(1)
    page.wait_idle()
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= 360

    # 429 and 503 (as the data service answers when throttling or shedding) name the wait.
    page.page.route("**/api/todos", _refuse(429, "7", "POST"))
    page.add("Not now")
    expect(page.by("message")).to_have_text("The service is busy, try again in 7 s.")
    expect(page.by("new-text")).to_have_value("Not now")
    page.wait_idle()
    page.snap("busy")
    page.page.route("**/api/todos/*", _refuse(503, "3", "PATCH"))
    page.item("Stay").get_by_test_id("todo-done").click()
    expect(page.by("message")).to_have_text("The service is busy, try again in 3 s.")
    page.wait_idle()
    expect(page.item("Stay").get_by_test_id("todo-done")).not_to_be_checked()
    page.page.unroute_all()
    assert page.shown() == [("Stay", False)]
    assert api.todos() == [("Stay", False)]

    # A token the server no longer accepts: back to the sign-in form, and say why.
    page.page.evaluate("() => localStorage.setItem('faasify-todolist.token', 'not-a-token')")
    page.page.reload()
    expect(page.by("login")).to_be_visible()
    expect(page.by("message")).to_have_text("Your session has ended. Please sign in again.")
    expect(page.by("todos")).to_be_hidden()
    page.snap("signed-out")
    page.by("login-username").fill(page.username)
    page.by("login-submit").click()
    expect(page.by("todo-item")).to_have_count(1)
    assert page.shown() == [("Stay", False)]
    assert page.message() == ""


@pytest.mark.browser
@pytest.mark.parametrize("page", _ids([SERVICE_DOWN]), indirect=True)
def test_data_service_down_is_told_not_hidden(page: Page) -> None:
    """The function answers 503 + Retry-After when it cannot reach the data service."""
    from playwright.sync_api import expect

    busy = re.compile(r"^The service is busy, try again in \d+ s\.$")
    expect(page.by("message")).to_have_text(busy)  # the first list, right after signing in
    expect(page.by("empty")).to_be_hidden()  # it does not claim an empty list it never read
    expect(page.by("retry")).to_be_visible()
    page.by("retry-load").click()  # still down: told again, the offer stays
    expect(page.by("message")).to_have_text(busy)
    expect(page.by("retry")).to_be_visible()
    page.add("Lost?")
    expect(page.by("message")).to_have_text(busy)
    page.wait_idle()
    expect(page.by("new-text")).to_have_value("Lost?")
    assert page.shown() == []


def test_a_browser_test_that_skips_fails_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Chromium these tests skip on a laptop, but CI must not pass by skipping them."""
    conftest = ROOT / "tests" / "conftest.py"
    pytester.makeconftest(conftest.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    browser: x\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.browser
        def test_page():
            pytest.skip("Chromium is not installed")
        """
    )
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
    assert result.parseoutcomes().get("failed") == 1
    result.stdout.fnmatch_lines(["*skipped under CI*Chromium is not installed*"])
