"""IronFunctions: both formats, as real processes fed the way the server feeds them.

Calls come from ``ironfunctions_calls.json`` (variables as iron-io/functions'
runner.go sets them). The default format gets them as the environment and the
payload on stdin, one process per call; the hot format gets each as the HTTP
message protocol/http.go writes (``GET /``, Go-canonical header names, no
Host), many through one process, and the answers are read back with
``http.client`` as Go's ``http.ReadResponse`` would.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import pytest

from tests.support.apps import BINARY

ROOT = Path(__file__).resolve().parents[2]
CALLS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "ironfunctions_calls.json").read_text("utf-8")
)["calls"]
TIMEOUT = 20


def _call(name: str) -> tuple[dict[str, str], bytes]:
    call = CALLS[name]
    return dict(call["variables"]), base64.b64decode(call["stdinBase64"])


def _spawn(mode: str, framework: str, variables: dict[str, str] | None = None) -> Any:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HEADER_", "PARAM_")) and key not in ("METHOD", "REQUEST_URL")
    }
    env.update(variables or {})
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.ironfunctions_app", mode, framework],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    return proc


# -- the default format --------------------------------------------------------------


def _run_default(cases: dict[str, tuple[str, str, bytes | None]]) -> dict[str, Any]:
    """``{name: (returncode, stdout, stderr)}``; the processes run side by side."""
    procs = {}
    for name, (framework, call, stdin) in cases.items():
        variables, payload = _call(call) if call else ({}, b"")
        procs[name] = (_spawn("default", framework, variables), payload if stdin is None else stdin)
    results = {}
    for name, (proc, payload) in procs.items():
        out, err = proc.communicate(payload, timeout=TIMEOUT)
        results[name] = (proc.returncode, out, err.decode("utf-8", "replace"))
    return results


@pytest.fixture(scope="module")
def default_runs() -> dict[str, Any]:
    return _run_default(
        {
            "flask_post": ("flask", "post_echo", None),
            "fastapi_post": ("fastapi", "post_echo", None),
            "flask_get_payload": ("flask", "get_with_payload", None),
            "fastapi_binary_old_url": ("fastapi", "old_server_url", None),
            "flask_boom": ("flask", "boom", None),
            "flask_noisy": ("flask", "noisy", None),
            "flask_not_ironfunctions": ("flask", "", b""),
        }
    )


def _check_post_echo(seen: dict[str, Any]) -> None:
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo/café"
    assert seen["root_path"] == "/r/myapp"
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "x y"]]
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}
    assert base64.b64decode(seen["body"]) == BINARY
    assert unquote(seen["link"]) == "/r/myapp/echo/x y"
    headers = dict(seen["headers"])
    assert headers["x-multi"] == "first second"  # IronFunctions joins values with a space
    assert headers["host"] == "functions.example.com:8080"
    assert headers["content-type"] == "application/octet-stream"
    assert "db-url" not in headers  # config is environment, not a header


@pytest.mark.parametrize("name", ["flask_post", "fastapi_post"])
def test_default_post_reaches_the_app(default_runs: dict[str, Any], name: str) -> None:
    code, out, err = default_runs[name]
    assert code == 0, err
    _check_post_echo(json.loads(out))


def test_default_get_ignores_the_payload_on_stdin(default_runs: dict[str, Any]) -> None:
    code, out, err = default_runs["flask_get_payload"]
    assert code == 0, err
    seen = json.loads(out)
    assert seen["method"] == "GET"
    assert seen["body"] == ""
    assert seen["query"] == [["payload", "ignored"]]


def test_default_binary_response_from_an_old_servers_url(default_runs: dict[str, Any]) -> None:
    code, out, err = default_runs["fastapi_binary_old_url"]
    assert code == 0, err
    assert out == BINARY
    assert "lifespan startup" in err
    assert "lifespan shutdown" in err


def test_default_app_error_is_a_generic_500_and_a_failed_process(
    default_runs: dict[str, Any],
) -> None:
    code, out, err = default_runs["flask_boom"]
    assert code == 1
    assert b"Internal Server Error" in out  # Flask's own 500 page
    assert b"secret detail" not in out
    assert "secret detail" in err  # logged, never sent


def test_default_stray_prints_go_to_stderr(default_runs: dict[str, Any]) -> None:
    code, out, err = default_runs["flask_noisy"]
    assert code == 0, err
    assert out == b"quiet"
    assert "noise from the app" in err


def test_default_without_ironfunctions_variables_is_a_400(default_runs: dict[str, Any]) -> None:
    code, out, err = default_runs["flask_not_ironfunctions"]
    assert code == 0
    assert out.startswith(b"Bad Request")
    assert "malformed event" in err


# -- the hot format ------------------------------------------------------------------


def _go_canonical(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: upper after "-", lower elsewhere."""
    out, upper = [], True
    for char in name:
        out.append(char.upper() if upper else char.lower())
        upper = char == "-"
    return "".join(out)


def _hot_message(variables: dict[str, str], payload: bytes, task_id: str) -> bytes:
    """The bytes protocol/http.go writes for one call (httputil.DumpRequest)."""
    fields = {_go_canonical(key): value for key, value in variables.items()}
    fields["Content-Length"] = str(len(payload))
    fields["Task-Id"] = task_id
    head = "GET / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sorted(fields.items()))
    return (head + "\r\n").encode() + payload


class _Unclosed:
    """The process's stdout for ``http.client``, which closes its file after a body."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> _Unclosed:
        return self

    def readline(self, *args: Any) -> bytes:
        return self._stream.readline(*args)

    def read(self, *args: Any) -> bytes:
        return self._stream.read(*args)

    def readinto(self, buffer: Any) -> int:
        return self._stream.readinto(buffer)  # type: ignore[attr-defined,no-any-return]

    def close(self) -> None:
        pass


class HotProcess:
    """One hot function process: a call in, its response out, in turn."""

    def __init__(self, framework: str) -> None:
        self.proc = _spawn("hot", framework)
        self.calls = 0

    def send(self, raw: bytes) -> http.client.HTTPResponse:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(raw)
        self.proc.stdin.flush()
        response = http.client.HTTPResponse(_Unclosed(self.proc.stdout))  # type: ignore[arg-type]
        response.begin()
        return response

    def call(self, name: str) -> tuple[int, dict[str, list[str]], bytes]:
        variables, payload = _call(name)
        self.calls += 1
        response = self.send(_hot_message(variables, payload, f"task-{self.calls}"))
        headers: dict[str, list[str]] = {}
        for key, value in response.getheaders():
            headers.setdefault(key.lower(), []).append(value)
        return response.status, headers, response.read()

    def finish(self) -> tuple[int, bytes, str]:
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out, err.decode("utf-8", "replace")


def test_hot_fastapi_serves_many_calls_with_one_lifespan() -> None:
    hot = HotProcess("fastapi")
    status, _, body = hot.call("post_echo")
    assert status == 200
    _check_post_echo(json.loads(body))
    status, headers, body = hot.call("old_server_url")
    assert (status, body) == (200, BINARY)
    assert headers["content-length"] == ["256"]
    status, _, body = hot.call("boom")
    assert (status, body) == (500, b"Internal Server Error")
    status, _, body = hot.call("noisy")
    assert (status, body) == (200, b"quiet")
    status, headers, body = hot.call("cookies")
    assert status == 200
    assert len(headers["set-cookie"]) == 2
    status, _, body = hot.call("lifespan")
    assert status == 200
    assert json.loads(body)["startups"] == 1
    code, rest, err = hot.finish()
    assert code == 0, err
    assert rest == b""
    assert err.count("lifespan startup") == 1
    assert err.count("lifespan shutdown") == 1
    assert "noise from the app" in err
    assert "noise from the lifespan" in err
    assert "secret detail" in err


def test_hot_flask_plain_http_and_a_broken_message() -> None:
    hot = HotProcess("flask")
    status, _, body = hot.call("post_echo")
    assert status == 200
    _check_post_echo(json.loads(body))
    status, _, body = hot.call("get_with_payload")
    assert status == 200
    assert json.loads(body)["body"] == ""
    # A message without IronFunctions' fields is the client's own request.
    plain = hot.send(
        b"PUT /echo/plain?x=1 HTTP/1.1\r\nHost: api.example.com\r\n"
        b"Cookie: a=1\r\nContent-Length: 5\r\n\r\nhello"
    )
    seen = json.loads(plain.read())
    assert (seen["method"], seen["path"], seen["root_path"]) == ("PUT", "/echo/plain", "")
    assert base64.b64decode(seen["body"]) == b"hello"
    assert seen["cookies"] == {"a": "1"}
    broken = hot.send(b"NOT HTTP AT ALL\r\n\r\n")
    assert broken.status == 400
    assert broken.read().startswith(b"Bad Request")
    code, _, err = hot.finish()
    assert code == 1
    assert "malformed event" in err
