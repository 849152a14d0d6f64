"""Every mistake a newcomer makes on the command line gets one sentence and a failing status.

Each case runs ``faasify`` as a process, as a user does, and checks the whole of
what it printed: a line (two at most) that names the problem and the fix, no
traceback, and exit status 1.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import faasify, free_port


def _one_line(completed: subprocess.CompletedProcess[str]) -> str:
    """The refusal ``faasify`` printed: its status is 1, stdout is empty, stderr one line."""
    assert completed.returncode == 1, completed
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert "Traceback" not in lines[0]
    return lines[0]


def test_malformed_json_names_the_place_and_how_to_make_a_valid_event(project: Path) -> None:
    (project / "event.json").write_text('{"rawPath": "/",\n  "headers": }\n')
    line = _one_line(faasify("invoke", "app:lambda_handler", "--event", "event.json", cwd=project))
    assert line == (
        "faasify invoke: the event in event.json is not valid JSON (Expecting value at "
        "line 2, column 14); `faasify event http-api-v2 > event.json` writes a valid one"
    )


def test_malformed_json_on_stdin(project: Path) -> None:
    line = _one_line(faasify("invoke", "app:lambda_handler", cwd=project, stdin="{nope"))
    assert line.startswith("faasify invoke: the event in standard input is not valid JSON (")


def test_a_missing_event_file_says_how_to_make_one(project: Path) -> None:
    line = _one_line(faasify("invoke", "app:lambda_handler", "--event", "evnt.json", cwd=project))
    assert line == (
        "faasify invoke: no event file evnt.json: make one with "
        "`faasify event http-api-v2 > event.json`, or pass --event - to read it from "
        "standard input"
    )


def test_an_empty_event_is_explained_in_one_line(project: Path) -> None:
    line = _one_line(faasify("invoke", "app:lambda_handler", cwd=project, stdin="{}"))
    assert line == (
        "faasify invoke: the event is empty ({}): not an HTTP event, and no on_* function of "
        "the handler takes it. `faasify event http-api-v2 > event.json` makes an HTTP one "
        "(faasify event --help: every shape)"
    )


@pytest.mark.parametrize("command", ["invoke", "serve", "local"])
def test_a_module_that_is_not_there(project: Path, command: str) -> None:
    port = [] if command == "invoke" else ["--port", str(free_port())]
    completed = faasify(command, "ap:lambda_handler", *port, cwd=project, stdin="{}")
    line = _one_line(completed)
    expected = (
        f"could not import module 'ap': there is no ap.py (or package) in {project} or on "
        "the Python path; run faasify from the directory that holds it, or fix the name"
    )
    if command == "local":
        # found by the throwaway instance that imports the handler at start
        assert line == f"faasify local: ap:lambda_handler failed to start: {expected}"
    else:
        assert line == f"faasify {command}: {expected}"


@pytest.mark.parametrize("command", ["invoke", "serve", "local"])
def test_an_attribute_that_is_not_there_lists_what_is(project: Path, command: str) -> None:
    port = [] if command == "invoke" else ["--port", str(free_port())]
    line = _one_line(faasify(command, "app:lambda", *port, cwd=project, stdin="{}"))
    start = "app:lambda failed to start: " if command == "local" else ""
    assert line == (
        f"faasify {command}: {start}'app' has no attribute 'lambda'; "
        "it has app, asgi_app, lambda_handler"
    )


@pytest.mark.parametrize("command", ["invoke", "serve", "local"])
def test_a_target_without_a_colon(project: Path, command: str) -> None:
    port = [] if command == "invoke" else ["--port", str(free_port())]
    line = _one_line(faasify(command, "app.lambda_handler", *port, cwd=project, stdin="{}"))
    assert line == (
        f"faasify {command}: 'app.lambda_handler' is not module:attribute: name the module "
        "and the object in it, as in app:lambda_handler (the object lambda_handler in app.py)"
    )


def test_a_module_whose_imports_are_missing(project: Path) -> None:
    (project / "needs.py").write_text("import not_installed_anywhere\n")
    line = _one_line(faasify("invoke", "needs:handler", cwd=project, stdin="{}"))
    assert line == (
        "faasify invoke: could not import module 'needs': it imports "
        "'not_installed_anywhere', which is not installed here (pip install it, or fix "
        "the import)"
    )


def test_a_module_that_raises_shows_its_own_traceback_then_the_line(project: Path) -> None:
    (project / "boom.py").write_text('raise RuntimeError("DATABASE_URL is not set")\n')
    completed = faasify("invoke", "boom:handler", cwd=project, stdin="{}")
    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].endswith('boom.py", line 1, in <module>')  # the user's frame first
    assert "faasify" not in "\n".join(lines[:-1])  # no frame of faasify's loader
    assert lines[-1] == (
        "faasify invoke: importing 'boom' raised RuntimeError: DATABASE_URL is not set "
        "(traceback above)"
    )


@pytest.mark.parametrize("command", ["invoke", "serve"])
def test_the_handler_factory_is_refused_with_a_sentence(project: Path, command: str) -> None:
    line = _one_line(faasify(command, "app:handler", cwd=project, stdin="{}"))
    assert line == (
        f"faasify {command}: app:handler is faasify.handler, which builds a handler from an "
        "app; it is not one. Give the handler it returned (app:lambda_handler after "
        "lambda_handler = handler(app)) or the app itself (app:app)"
    )


def test_a_class_is_refused(project: Path) -> None:
    line = _one_line(faasify("serve", "app:Flask", cwd=project))
    assert line == (
        "faasify serve: app:Flask is the class Flask; give an object made from it "
        "(the app or the handler), not the class"
    )


@pytest.mark.parametrize(("command", "default"), [("serve", 8000), ("local", 3000)])
def test_a_port_in_use(project: Path, taken_port: int, command: str, default: int) -> None:
    completed = faasify(command, "app:lambda_handler", "--port", str(taken_port), cwd=project)
    line = _one_line(completed)
    assert line == (
        f"faasify {command}: port {taken_port} on 127.0.0.1 is in use: stop the program "
        f"that holds it, or pick another port with --port (e.g. --port {taken_port + 1})"
    )
    assert "faasify local: http://" not in completed.stderr  # never announced


def test_an_address_that_is_not_this_machines(project: Path) -> None:
    line = _one_line(faasify("serve", "app:app", "--host", "nohost.invalid", cwd=project))
    assert line.startswith("faasify serve: cannot listen on nohost.invalid:8000 (")
    assert line.endswith("give --host an address of this machine, such as 127.0.0.1 or 0.0.0.0")


def test_event_options_that_do_not_fit_the_shape(project: Path) -> None:
    line = _one_line(faasify("event", "sqs", "--path", "/x", cwd=project))
    assert line == (
        "faasify event: --path is for HTTP events; a sqs event has no path "
        "(use --body for its payload)"
    )
    line = _one_line(faasify("event", "http-api-v2", "--header", "no-colon", cwd=project))
    assert line == (
        "faasify event: --header 'no-colon' is not 'Name: value' (e.g. 'Accept: text/html')"
    )
    line = _one_line(faasify("event", "s3", "--body", "x", cwd=project))
    assert line == "faasify event: a s3 event carries no payload: leave out --body"


def test_a_good_invoke_prints_only_the_result(project: Path) -> None:
    completed = faasify("invoke", "app:lambda_handler", cwd=project, stdin=json.dumps({}))
    assert completed.returncode == 1  # the control case above, for contrast below
    event = faasify("event", "http-api-v2", "--path", "/hi", cwd=project).stdout
    good = faasify("invoke", "app:lambda_handler", cwd=project, stdin=event)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["statusCode"] == 200
