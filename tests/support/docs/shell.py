"""Shell blocks, run the way a reader runs them, or checked where they cannot run here.

Line by line (the default): each command is classified by its program.

* ``faasify serve``/``local``, ``python -m examples.todolist``, ``uvicorn``: a server.
  It is started in the background on a free port (the block's ports are mapped to
  free ones throughout), waited for until it answers, and stopped after the block.
* ``faasify`` (any other command), ``curl`` to this machine, ``echo ... |`` pipes into
  them: run with bash in the page's working directory; they must succeed, and a
  trailing ``# {"json": "comment"}`` is compared with what the command printed.
* ``pip install``, ``make``, ``.venv/bin/...``: checked, not run: the extras, make
  targets, files and modules they name exist (running them would re-install or
  re-test this checkout).
* Anything else (cloud tools, ``cd``, ``export``): not run here.

A ``console`` block shows ``$ command`` lines and their output: the command runs,
and the first line of output must read as the page shows it, numbers aside.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.docs.blocks import ROOT, Block

#: The port each server command listens on when the page gives none.
DEFAULT_PORTS = {"faasify serve": 8000, "faasify local": 3000, "examples.todolist": 8000}
DEFAULT_PORTS["uvicorn"] = 8000
#: Programs whose commands are checked but never run by the docs tests.
CHECKED_ONLY = {"pip", "pip3", "make"}
TIMEOUT = 180.0


@dataclass
class Command:
    """One shell command of a block: its text, words and the comment after it."""

    text: str
    comment: str = ""
    output: list[str] = field(default_factory=list)  # console blocks: what the page shows

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def env(self) -> dict[str, str]:
        assignments = {}
        for word in self.words:
            name, equals, value = word.partition("=")
            if not equals or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
                break
            assignments[name] = value
        return assignments

    @property
    def argv(self) -> list[str]:
        return self.words[len(self.env) :]

    @property
    def program(self) -> str:
        argv = self.argv
        return Path(argv[0]).name if argv else ""

    @property
    def server(self) -> str | None:
        """Which kind of server the command starts, or ``None``."""
        argv = self.argv
        if argv[:2] in (["faasify", "serve"], ["faasify", "local"]):
            return f"faasify {argv[1]}"
        if self.program.startswith("python") and argv[1:3] == ["-m", "examples.todolist"]:
            return "examples.todolist"
        if self.program == "uvicorn":
            return "uvicorn"
        return None


def _split_comment(line: str) -> tuple[str, str]:
    """``(command, comment)``: the comment starts at the first unquoted ``#`` after a space."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


def commands(block: Block) -> list[Command]:
    """The block's commands, continuation lines joined, console output attached."""
    found: list[Command] = []
    pending = ""
    for raw in block.code.splitlines():
        line = raw.rstrip()
        if block.lang == "console" and not pending:
            if not line.startswith("$ "):
                if found and line:
                    found[-1].output.append(line)
                continue
            line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text, comment = _split_comment(pending + line)
        pending = ""
        if text.strip():
            found.append(Command(text.strip(), comment))
    return found


# -- ports ---------------------------------------------------------------------------------


class Ports:
    """The block's documented ports, each mapped to a free one on this machine."""

    def __init__(self) -> None:
        self.mapping: dict[int, int] = {}

    def __getitem__(self, documented: int) -> int:
        if documented not in self.mapping:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.mapping[documented] = int(sock.getsockname()[1])
        return self.mapping[documented]

    def rewrite(self, text: str) -> str:
        text = re.sub(r"(--port[ =])(\d+)", lambda m: f"{m.group(1)}{self[int(m.group(2))]}", text)
        return re.sub(
            r"((?:127\.0\.0\.1|localhost):)(\d+)",
            lambda m: f"{m.group(1)}{self[int(m.group(2))]}",
            text,
        )


# -- running ---------------------------------------------------------------------------------


def environment(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The reader's shell: this checkout's ``faasify`` first on PATH, no test servers
    unless the block needs them, temporary files under ``workdir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["TMPDIR"] = str(workdir)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def _start(command: Command, ports: Ports, cwd: Path, env: dict[str, str], logs: Path) -> Server:
    assert command.server is not None
    text = ports.rewrite(shlex.join(command.argv))
    env = {**env, **command.env}
    port_match = re.search(r"--port[ =](\d+)", text)
    if port_match is None:
        port = ports[DEFAULT_PORTS[command.server]]
        text += f" --port {port}"
    else:
        port = int(port_match.group(1))
    log = logs / f"server-{port}.log"
    process = subprocess.Popen(
        ["bash", "-c", f"exec {text}"],
        cwd=cwd,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(process, f"http://127.0.0.1:{port}/", log)
    deadline = time.monotonic() + TIMEOUT
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{command.text!r} exited {process.returncode}:\n{server.tail()}")
        try:
            httpx.get(server.url, timeout=5.0)
            return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{command.text!r} did not answer {server.url}:\n{server.tail()}")
        time.sleep(0.1)


def _stop(servers: list[Server]) -> None:
    for server in servers:
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGINT)
    for server in servers:
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


@contextlib.contextmanager
def running_servers() -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        yield servers
    finally:
        _stop(servers)


_BUILT: dict[tuple[str, str], tuple[int, str, str]] = {}


def run(
    text: str, cwd: Path, env: dict[str, str], tmp_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``text`` run with bash in ``cwd``.

    A ``faasify package`` command that another page runs the same way (the deploy
    guides repeat the Packaging page's) is built once: the second page gets the first
    one's outcome, its paths moved to its own ``tmp_path``.
    """
    key = None
    if tmp_path is not None and text.lstrip().startswith("faasify package "):
        key = (" ".join(text.replace(str(tmp_path), "{TMP}").split()), str(cwd))
        if key in _BUILT:
            status, out, err = _BUILT[key]
            here = str(tmp_path)
            return subprocess.CompletedProcess(
                text, status, out.replace("{TMP}", here), err.replace("{TMP}", here)
            )
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", text],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if key is not None and tmp_path is not None:
        there = str(tmp_path)
        _BUILT[key] = (
            completed.returncode,
            completed.stdout.replace(there, "{TMP}"),
            completed.stderr.replace(there, "{TMP}"),
        )
    return completed


def _numbers_free(line: str) -> str:
    """A pattern for ``line`` with each number allowed to differ."""
    parts = re.split(r"\d+(?:\.\d+)?", line)
    return r"[\d.]+".join(re.escape(part) for part in parts)


def check_output(
    command: Command, completed: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    """The command printed what the page says it prints (paths moved by :func:`outside`
    read as the page wrote them)."""
    printed = (completed.stdout + completed.stderr).strip().replace(f"{tmp_path}/", "")
    try:
        expected = json.loads(command.comment) if command.comment[:1] in ("{", "[") else None
    except ValueError:
        expected = None  # an abridged value ({"statusCode": 200, ...}) is for the reader
    if expected is not None:
        assert json.loads(completed.stdout) == expected, (command.text, completed.stdout)
    if command.output:
        first = printed.splitlines()[0] if printed else ""
        assert re.match(_numbers_free(command.output[0]), first), (command.output[0], first)


def is_local_curl(command: Command) -> bool:
    return command.program == "curl" and bool(
        re.search(r"https?://(127\.0\.0\.1|localhost)[:/]", command.text)
    )


def runnable(command: Command) -> bool:
    """Whether the docs tests run ``command`` (else they only check it)."""
    if command.server is not None or is_local_curl(command):
        return True
    pipeline = [part.strip() for part in command.text.split("|")]
    return any(part.startswith("faasify ") for part in pipeline) or command.program == "faasify"


def outside(text: str, tmp_path: Path) -> str:
    """``text`` with its ``-o``/``--output`` files moved under ``tmp_path``: a docs test
    never writes into the checkout."""
    return re.sub(
        r"(\s(?:-o|--output)[ =])(\S+)", lambda m: f"{m.group(1)}{tmp_path / m.group(2)}", text
    )


def installs_faasify(command: Command) -> bool:
    """A ``faasify package`` that installs faasify itself (``--with faasify``)."""
    argv = command.argv
    if argv[:2] != ["faasify", "package"]:
        return False
    specs = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "--with"]
    specs += [word.split("=", 1)[1] for word in argv if word.startswith("--with=")]
    return any(re.match(r"faasify\b(?![./])", spec) for spec in specs)
