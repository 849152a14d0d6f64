"""Running one docs block: the machinery behind tests/docs/test_*blocks.py.

See :mod:`tests.support.docs.blocks` for the markers a page uses and :mod:`tests.support.docs.shell`
for how shell blocks run. Blocks of pages being rewritten elsewhere that fail today
are listed in ``KNOWN_BROKEN`` as strict expected failures: the day one runs, its
entry must go.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.docs import shell, static
from tests.support.docs.apps import HELLO, hello_app
from tests.support.docs.blocks import ROOT, Block, all_blocks, free_names

BLOCKS = all_blocks()

#: (page, first line of the block) -> why it fails. Strict: an entry that passes fails.
KNOWN_BROKEN: dict[tuple[str, str], str] = {}

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


def params(*, installs: bool) -> list[Any]:
    """The blocks to test, as pytest params: those whose ``faasify package`` installs
    dependencies (``installs``), or all the others."""
    found = []
    for block in BLOCKS:
        if not _checkable(block) or _installs(block) != installs:
            continue
        marks: list[Any] = [getattr(pytest.mark, name) for name in block.needs]
        reason = KNOWN_BROKEN.get((block.page, block.first_line))
        if reason:
            marks.append(pytest.mark.xfail(reason=reason, strict=True))
        if block.lang in ("sh", "shell", "bash", "console") and _installs(block):
            marks.append(pytest.mark.network)
        found.append(pytest.param(block, id=block.id, marks=marks))
    return found


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


def _workdir(block: Block, tmp_path: Path) -> Path:
    """Where the block's commands run: a directory holding the page's titled files up to
    this block, or the repository when the page has none (its paths are the repo's)."""
    titled = [b for b in BLOCKS if b.page == block.page and b.title and b.index < block.index]
    if not titled and block.title is None:
        return ROOT
    for earlier in titled:
        assert earlier.title is not None  # the blocks were picked for having one
        (tmp_path / earlier.title).write_text(earlier.code, encoding="utf-8")
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
                checked.append(static.check(command, workdir))
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
                checked.append(static.check(command, workdir))
    assert any(checked), f"{block.id}: nothing in it was run or checked"


def run_block(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Run or check ``block`` as its page says."""
    workdir = _workdir(block, tmp_path)
    if block.lang == "python":
        _run_python(block, workdir, monkeypatch)
    elif block.lang == "json":
        json.loads(block.code)
    elif block.lang in ("yaml", "yml"):
        yaml.safe_load(block.code)
    else:
        _run_shell(block, workdir, tmp_path, request)


def close_all() -> None:
    """Close what the blocks' handlers opened, once (a continued namespace shares them)."""
    closed: dict[int, Any] = {}
    for namespace in _namespaces.values():
        fresh = {k: v for k, v in namespace.items() if id(v) not in closed}
        closed.update((id(v), v) for v in fresh.values())
        _close_handlers(fresh)
    _namespaces.clear()
