"""Every code block of README.md and docs/ runs, or is checked, as the page says.

One test per block (see :mod:`tests.docs.blocks` for the markers a page uses and
:mod:`tests.docs.shell` for how shell blocks run). A block that fails names its
page and line. Blocks of pages being rewritten elsewhere that fail today are listed
in ``KNOWN_BROKEN`` as strict expected failures: the day one runs, its entry must go.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docs import shell, static
from tests.docs.apps import HELLO, hello_app
from tests.docs.blocks import ROOT, Block, all_blocks, free_names

BLOCKS = all_blocks()

#: (page, first line of the block) -> why it fails. Strict: an entry that passes fails.
#: docs/adapters.md and docs/baas.md are being rewritten; these are their blocks today.
_REWRITTEN = "the page is being rewritten"
KNOWN_BROKEN: dict[tuple[str, str], str] = {
    ("docs/adapters.md", "# FastAPI (ASGI), with a pool that lives as long as the instance"): (
        f"{_REWRITTEN}: open_pool() is not defined, so the lifespan startup fails"
    ),
    (
        "docs/adapters.md",
        "faasify serve myapp:lambda_handler --port 8000 --event-format http-api-v2",
    ): (f"{_REWRITTEN}: there is no myapp module on the page (a fragment, or give it app.py)"),
    (
        "docs/baas.md",
        'db = PostgresPool(os.environ["DATABASE_URL"])  # one connection per instance',
    ): (f"{_REWRITTEN}: PostgresPool and app are not imported or defined"),
    (
        "docs/baas.md",
        'todos = AsyncClient(os.environ["BAAS_URL"])  # module scope: one connection per instance',
    ): (f"{_REWRITTEN}: AsyncClient is not imported, BAAS_URL not set"),
    ("docs/baas.md", "import os"): f"{_REWRITTEN}: it reads BAAS_URL, which nothing sets",
    (
        "docs/baas.md",
        "# one machine, two worker processes sharing 10 connections (pool_size=5 each)",
    ): (f"{_REWRITTEN}: uvicorn service:app finds no service.py where the command runs"),
    ("docs/baas.md", "uvicorn service:app --port 8000"): (
        f"{_REWRITTEN}: the service block is not given as service.py"
    ),
    ("docs/baas.md", "from faasify.baas import Client"): (
        f"{_REWRITTEN}: it calls the service the previous block serves, which has ended"
    ),
    ("docs/baas.md", "from faasify.baas import DatabaseConfig"): (
        f"{_REWRITTEN}: it continues the service block without saying so"
    ),
    ("docs/baas.md", "from faasify.baas import NamedQuery"): (
        f"{_REWRITTEN}: an excerpt (Service(...)), with no fragment marker"
    ),
    ("docs/baas.md", "from faasify.baas import LimitsConfig"): (
        f"{_REWRITTEN}: an excerpt (Service(...)), with no fragment marker"
    ),
    ("docs/baas.md", 'service = Service(..., database=DatabaseConfig(url, pooler="pgbouncer"))'): (
        f"{_REWRITTEN}: an excerpt (Service(...)), with no fragment marker"
    ),
}

_SERVERS = {"postgres", "redis"}
_namespaces: dict[Block, dict[str, Any]] = {}


def _checkable(block: Block) -> bool:
    """Whether the block holds something a test can run or check."""
    if block.lang in ("python", "json", "yaml", "yml"):
        return True
    if block.lang in ("sh", "shell", "bash", "console"):
        cmds = shell.commands(block)
        return "script" in block.markers or any(
            shell.runnable(c) or c.program in static.CHECKABLE for c in cmds
        )
    return False


def _params() -> list[Any]:
    params = []
    for block in BLOCKS:
        if not _checkable(block):
            continue
        marks: list[Any] = [getattr(pytest.mark, name) for name in block.needs]
        reason = KNOWN_BROKEN.get((block.page, block.first_line))
        if reason:
            marks.append(pytest.mark.xfail(reason=reason, strict=True))
        if block.lang in ("sh", "shell", "bash", "console") and _installs(block):
            marks.append(pytest.mark.network)
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


def _installs(block: Block) -> bool:
    """A ``faasify package`` the block runs installs dependencies from an index."""
    return "offline" not in block.markers and any(
        c.argv[:2] == ["faasify", "package"] and ({"--with", "-r", "--requirements"} & set(c.argv))
        for c in shell.commands(block)
    )


def _server_env(block: Block) -> dict[str, str]:
    from tests.conftest import DATABASE_URL, REDIS_URL

    env = {}
    if "postgres" in block.needs:
        env["DATABASE_URL"] = DATABASE_URL
    if "redis" in block.needs:
        env["REDIS_URL"] = REDIS_URL
    return env


@pytest.fixture
def servers_for(request: pytest.FixtureRequest) -> None:
    """The test servers a block needs, reachable (else the test skips with the reason)."""
    block: Block = request.node.callspec.params["block"]
    for name in block.needs:
        assert name in _SERVERS, f"{block.id}: unknown server {name!r} in needs:"
        request.getfixturevalue({"postgres": "pg_url", "redis": "redis_url"}[name])


def _workdir(block: Block, tmp_path: Path) -> Path:
    """Where the block's commands run: a directory holding the page's titled files up to
    this block, or the repository when the page has none (its paths are the repo's)."""
    titled = [b for b in BLOCKS if b.page == block.page and b.title and b.index < block.index]
    if not titled and block.title is None:
        return ROOT
    for earlier in titled:
        (tmp_path / earlier.title).write_text(earlier.code, encoding="utf-8")  # type: ignore[operator]
    return tmp_path


# -- python ----------------------------------------------------------------------------------


def _previous_python(block: Block) -> Block:
    earlier = [b for b in BLOCKS if b.page == block.page and b.lang == "python"]
    earlier = [b for b in earlier if b.index < block.index and b.origin == block.origin]
    assert earlier, f"{block.id} is marked continues, but no Python block comes before it"
    return earlier[-1]


def _close_handlers(namespace: dict[str, Any]) -> None:
    """Close the instances the block's handlers opened (their loop, their signal handlers)."""
    for value in namespace.values():
        if inspect.isclass(value) or inspect.ismodule(value) or inspect.isfunction(value):
            continue
        module = type(value).__module__ or ""
        close = getattr(value, "close", None)
        if (
            module.startswith("faasify.")
            and callable(close)
            and not inspect.iscoroutinefunction(close)
        ):
            close()


def _factory(value: Any) -> bool:
    """``faasify.handler`` and its kind, imported by the block: they build handlers."""
    module = getattr(value, "__module__", "") or ""
    return (inspect.isfunction(value) or inspect.isclass(value)) and module.startswith("faasify")


def _answers(block: Block, namespace: dict[str, Any]) -> None:
    """The handler a block built around the reader's app answers the app's ``GET /``."""
    from faasify.local.context import LocalContext
    from faasify.local.events import build_event, read_result

    built = [
        name
        for name in ("lambda_handler", "handler", "my_handler")
        if callable(namespace.get(name)) and not _factory(namespace[name])
    ]
    assert built, f"{block.id}: the block builds no handler named lambda_handler or handler"
    for name in built:
        result = read_result(namespace[name](build_event("http-api-v2"), LocalContext()))
        assert (result.status, json.loads(result.body)) == (200, HELLO), (name, result)


def _forget_modules(workdir: Path) -> None:
    """Unimport the page's own files (app.py...): the next page has its own."""
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if origin.startswith(f"{workdir}{os.sep}"):
            del sys.modules[name]


def _execute(block: Block, workdir: Path) -> dict[str, Any]:
    if block in _namespaces:
        return _namespaces[block]
    namespace: dict[str, Any]
    if "continues" in block.markers:
        namespace = dict(_execute(_previous_python(block), workdir))
    else:
        namespace = {"__name__": f"docs_block_{block.index}"}
    if block.app:
        namespace["app"] = hello_app(block.app)
    where = f"{block.page}:{block.line}" + (f" ({block.origin})" if block.origin else "")
    exec(compile(block.code, where, "exec"), namespace)
    _namespaces[block] = namespace
    return namespace


def _run_python(block: Block, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = compile(block.code, f"{block.page}:{block.line}", "exec")  # every block parses
    excerpt = block.origin is not None and free_names(block.code)
    if "fragment" in block.markers or excerpt:
        assert code is not None
        return
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _server_env(block).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    try:
        namespace = _execute(block, workdir)
        if block.app:
            _answers(block, namespace)
    finally:
        if workdir != ROOT:
            _forget_modules(workdir)


# -- shell -----------------------------------------------------------------------------------


def _run_shell(block: Block, workdir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    commands = shell.commands(block)
    env = shell.environment(tmp_path, _server_env(block))
    ports = shell.Ports()
    if "script" in block.markers:
        with shell.running_servers():
            completed = shell.run(ports.rewrite(block.code), workdir, env)
        assert completed.returncode == 0, (completed.stdout, completed.stderr)
        return
    checked = []
    with shell.running_servers() as servers:
        for command in commands:
            if "offline" in block.markers or "fragment" in block.markers:
                checked.append(static.check(command))
            elif command.server is not None:
                servers.append(shell._start(command, ports, workdir, env, tmp_path))
                checked.append(f"started {command.text}")
            elif shell.runnable(command):
                text = ports.rewrite(shell.outside(command.text, tmp_path))
                if shell.installs_faasify(command):
                    wheels = request.getfixturevalue("checkout_wheel")
                    text += f" --pip-arg=--find-links={wheels}"
                completed = shell.run(text, workdir, env, tmp_path)
                failed = completed.returncode != 0
                if command.output and command.output[0].startswith("faasify "):
                    assert failed, f"{command.text!r} was to fail as the page shows"
                else:
                    assert not failed, (command.text, completed.stdout, completed.stderr)
                shell.check_output(command, completed, tmp_path)
                checked.append(f"ran {command.text}")
            else:
                checked.append(static.check(command))
    assert any(checked), f"{block.id}: nothing in it was run or checked"


# -- the test --------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _closed_at_the_end() -> Iterator[None]:
    """The handlers the blocks built live until the last block that may continue them."""
    yield
    closed: dict[int, Any] = {}
    for namespace in _namespaces.values():
        fresh = {k: v for k, v in namespace.items() if id(v) not in closed}
        closed.update((id(v), v) for v in fresh.values())
        _close_handlers(fresh)
    _namespaces.clear()


@pytest.fixture(scope="session")
def checkout_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, where ``--with faasify`` finds it (it is not on the index)."""
    wheels = tmp_path_factory.mktemp("checkout-wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return wheels


@pytest.mark.usefixtures("servers_for")
@pytest.mark.parametrize("block", _params())
def test_block(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    workdir = _workdir(block, tmp_path)
    if block.lang == "python":
        _run_python(block, workdir, monkeypatch)
    elif block.lang == "json":
        json.loads(block.code)
    elif block.lang in ("yaml", "yml"):
        yaml.safe_load(block.code)
    else:
        _run_shell(block, workdir, tmp_path, request)


def test_every_page_is_covered() -> None:
    """The runner saw every page's blocks: a fence it cannot parse would hide a block."""
    fences = 0
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        fences += sum(1 for line in text.splitlines() if line.lstrip().startswith(("```", "~~~")))
    page_blocks = [b for b in BLOCKS if b.origin is None]
    assert fences == 2 * len(page_blocks)
    assert os.path.exists(ROOT / "docs" / "reference" / "baas.md")
    assert any(b.page == "docs/reference/baas.md" for b in BLOCKS)
