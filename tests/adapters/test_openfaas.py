"""OpenFaaS: the python3-http template (of-watchdog HTTP mode) and the classic watchdog.

The template tests run requests through a stand-in for the template's
``index.py`` (openfaas/python-flask-template, template/python3-http): a Flask
app that builds the same ``Event`` and ``Context`` from Flask's request and
treats the handler's result the same way. The classic-watchdog tests run real
processes, fed as ``handler.go`` feeds them: body on stdin, ``Http_*``
variables in the environment, response body read from stdout.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest

from faasify._exceptions import ConfigurationError
from faasify.adapters.openfaas import OpenFaaSHandler, http_handler, run_classic
from tests.support.apps import BINARY, fastapi_app, flask_app, starlette_app

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"flask": flask_app, "fastapi": fastapi_app}

# -- a stand-in for the template's index.py ------------------------------------


def template_app(handle: Callable[[Any, Any], Any]) -> Any:
    """The python3-http template around ``handle``, as its index.py builds it.

    Event and Context carry the same attributes, taken from Flask's request;
    a dict result goes through the same formatting (a dict body as JSON, any
    other body through ``str()``, an exact ``dict`` of headers flattened to
    pairs, anything else as it is); a result that is not a dict goes to Flask
    unchanged.
    """
    from flask import Flask, jsonify, request

    class Event:
        def __init__(self) -> None:
            self.body = request.get_data()
            self.headers = request.headers
            self.method = request.method
            self.query = request.args
            self.path = request.path

    class Context:
        def __init__(self) -> None:
            self.hostname = "localhost"

    def format_response(result: Any) -> Any:
        if result is None:
            return ("", 200)
        if type(result) is not dict:
            return result
        body = result.get("body", "")
        body = jsonify(body) if type(body) is dict else str(body)
        headers = result.get("headers", [])
        if type(headers) is dict:
            headers = list(headers.items())
        return (body, result.get("statusCode", 200), headers)

    app = Flask("template")
    methods = ["GET", "PUT", "POST", "PATCH", "DELETE"]

    @app.route("/", defaults={"path": ""}, methods=methods)
    @app.route("/<path:path>", methods=methods)
    def call_handler(path: str) -> Any:
        return format_response(handle(Event(), Context()))

    return app


_handlers: dict[tuple[str, str], OpenFaaSHandler] = {}


def client(framework: str, base_path: str = "") -> Any:
    """A test client of the template around one handler per framework (built once)."""
    key = (framework, base_path)
    if key not in _handlers:
        _handlers[key] = http_handler(FRAMEWORKS[framework](), base_path=base_path)
    return template_app(_handlers[key]).test_client(use_cookies=False)


def echo(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.data
    seen: dict[str, Any] = json.loads(response.data)
    return seen


def header_values(seen: dict[str, Any], name: str) -> list[str]:
    return [
        part.strip() for key, value in seen["headers"] if key == name for part in value.split(",")
    ]


# -- python3-http template ------------------------------------------------------


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_request_reaches_the_app_intact(framework: str) -> None:
    seen = echo(
        client(framework).get(
            "/echo/caf%C3%A9/a%20b?x=1&x=2&y=%C3%A9&empty=",
            headers=[("X-Multi", "a"), ("X-Multi", "b"), ("Cookie", "c1=v1; c2=v2")],
        )
    )
    assert seen["method"] == "GET"
    assert seen["path"] == "/echo/café/a b"
    assert seen["root_path"] == ""
    assert seen["query"] == [["x", "1"], ["x", "2"], ["y", "é"], ["empty", ""]]
    assert seen["cookies"] == {"c1": "v1", "c2": "v2"}
    assert header_values(seen, "x-multi") == ["a", "b"]
    assert unquote(seen["link"]) == "/echo/x y"


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_base_path_reaches_the_apps_links(framework: str) -> None:
    # The gateway strips /function/<name>; base_path gives it back to links.
    seen = echo(client(framework, base_path="/function/echo").get("/echo/x"))
    assert seen["path"] == "/echo/x"
    assert seen["root_path"] == "/function/echo"
    assert unquote(seen["link"]) == "/function/echo/echo/x y"


@pytest.mark.parametrize("base_path", ["function/echo", "/function/echo/"])
def test_base_path_is_checked_when_the_handler_is_built(base_path: str) -> None:
    with pytest.raises(ConfigurationError):
        http_handler(flask_app(), base_path=base_path)


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_binary_body_round_trips(framework: str) -> None:
    seen = echo(
        client(framework).post(
            "/echo/upload", data=BINARY, headers={"Content-Type": "application/octet-stream"}
        )
    )
    assert base64.b64decode(seen["body"]) == BINARY


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_binary_response_is_exact(framework: str) -> None:
    response = client(framework).get("/binary")
    assert response.status_code == 200
    assert response.data == BINARY
    assert response.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_each_cookie_gets_its_own_header(framework: str) -> None:
    response = client(framework).get("/cookies")
    assert response.data == b"ok"
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("a=1")
    assert cookies[1].startswith("b=2")
    assert "expires=wed, 21 oct 2037 07:28:00 gmt" in cookies[1].lower()


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_status_passes_through(framework: str) -> None:
    assert client(framework).get("/no/such/route").status_code == 404


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_app_exception_is_a_500_without_its_detail(framework: str) -> None:
    response = client(framework).get("/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data
    assert b"Traceback" not in response.data
    assert client(framework).get("/echo/after").status_code == 200


def raising_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("secret detail")


async def raising_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        raise RuntimeError("secret detail")


@pytest.mark.parametrize("app", [raising_wsgi_app, raising_asgi_app], ids=["wsgi", "asgi"])
def test_exception_escaping_the_app_is_a_generic_500_and_one_log_line(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="faasify.app"):
        response = template_app(http_handler(app)).test_client().get("/anything")
    assert response.status_code == 500
    assert response.data == b"Internal Server Error"
    records = [r for r in caplog.records if r.name == "faasify.app"]
    assert len(records) == 1
    assert "RuntimeError: secret detail" in json.loads(records[0].getMessage())["error"]


def test_result_is_the_templates_dict_for_text_and_a_tuple_for_bytes() -> None:
    handle = _handlers.get(("flask", "")) or http_handler(flask_app())

    def event(path: str) -> SimpleNamespace:
        return SimpleNamespace(body=b"", headers={}, method="GET", query={}, path=path)

    text = handle(event("/cookies"), None)
    assert isinstance(text, dict)
    assert text["statusCode"] == 200
    assert text["body"] == "ok"
    assert len(text["headers"]["Set-Cookie"]) == 2
    # An exact dict would be flattened by the template; this one goes to Flask whole.
    assert type(text["headers"]) is not dict
    binary = handle(event("/binary"), None)
    assert isinstance(binary, tuple)
    assert binary[0] == BINARY
    assert binary[1] == 200


@pytest.mark.parametrize(
    "change",
    [
        {"body": 123},
        {"headers": {"X-Number": 5}},
        {"method": None},
        {"query": {"x": 1}},
    ],
)
def test_malformed_event_is_a_400(change: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    handle = _handlers.get(("flask", "")) or http_handler(flask_app())
    fields = {"body": b"", "headers": {}, "method": "GET", "query": {}, "path": "/echo/x"}
    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        result = handle(SimpleNamespace(**{**fields, **change}), None)
    assert isinstance(result, dict)
    assert result["statusCode"] == 400
    assert result["body"].startswith("Bad Request")
    assert "malformed event" in caplog.text


def counting_lifespan(counts: dict[str, int]) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        counts["startup"] += 1
        yield
        counts["shutdown"] += 1

    return lifespan


def test_asgi_lifespan_runs_once_across_concurrent_requests() -> None:
    counts = {"startup": 0, "shutdown": 0}
    handle = http_handler(starlette_app(lifespan=counting_lifespan(counts)))
    app = template_app(handle)

    def get(i: int) -> int:
        status: int = app.test_client().get(f"/echo/{i}").status_code
        return status

    # waitress serves the template from several threads at once.
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(get, range(24)))
    assert statuses == [200] * 24
    assert counts == {"startup": 1, "shutdown": 0}
    handle.close()
    assert counts == {"startup": 1, "shutdown": 1}


# -- classic watchdog: a process per request --------------------------------------


def run_process(
    app: str, variables: dict[str, str], body: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """The function process as the classic watchdog forks it, for one request."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("Http_")}
    env.pop("combine_output", None)
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "tests.support.openfaas_classic_app", app],
        input=body,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=30,
        check=False,
    )


def test_classic_request_reaches_the_app() -> None:
    done = run_process(
        "flask",
        {
            "Http_Method": "GET",
            "Http_Path": "/echo/café/a b",
            "Http_Query": "x=1&x=2&y=%C3%A9",
            "Http_X_Multi": "a",  # the watchdog passes a repeated header's first value
            "Http_Cookie": "c1=v1; c2=v2",
            "Http_Host": "gateway.example:8080",
            "Http_User_Agent": "curl/8",
            "Http_ContentLength": "0",
            "Http_Content_Length": "0",
            "combine_output": "false",
        },
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["method"] == "GET"
    assert seen["path"] == "/echo/café/a b"
    assert seen["query"] == [["x", "1"], ["x", "2"], ["y", "é"]]
    assert seen["cookies"] == {"c1": "v1", "c2": "v2"}
    headers = dict(seen["headers"])
    assert headers["host"] == "gateway.example:8080"
    assert headers["x-multi"] == "a"
    assert headers["user-agent"] == "curl/8"
    assert "method" not in headers
    assert "path" not in headers


def test_classic_binary_body_reaches_an_asgi_app() -> None:
    done = run_process(
        "fastapi",
        {
            "Http_Method": "POST",
            "Http_Path": "/echo/upload",
            "Http_Content_Type": "application/octet-stream",
            "Http_Content_Length": str(len(BINARY)),
            "combine_output": "false",
        },
        BINARY,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["method"] == "POST"
    assert base64.b64decode(seen["body"]) == BINARY


def test_classic_app_exception_exits_non_zero_with_a_generic_body() -> None:
    done = run_process("raising", {"Http_Method": "GET", "combine_output": "false"})
    assert done.returncode == 1  # the watchdog answers 500
    assert done.stdout == b"Internal Server Error"
    assert b"secret detail" in done.stderr  # the log line, for the container's logs


def test_classic_combined_output_keeps_logs_out_of_the_response() -> None:
    # combine_output defaults to true: the watchdog would send stderr to the client.
    # Flask logs the traceback to stderr itself; none of it may reach the client.
    done = run_process("flask", {"Http_Method": "GET", "Http_Path": "/boom"})
    assert done.returncode == 1
    assert b"secret detail" not in done.stdout
    assert done.stderr == b""


def test_classic_stray_output_does_not_reach_the_body() -> None:
    done = run_process("noisy", {"Http_Method": "GET", "combine_output": "false"})
    assert done.returncode == 0
    assert done.stdout == b"clean body"
    assert b"stray print from the app" in done.stderr
    assert b"stray stderr from the app" in done.stderr


def classic(app: Any, variables: dict[str, str], body: bytes = b"", **options: Any) -> Any:
    """run_classic in this process, with its streams given: (exit status, body)."""
    out = io.BytesIO()
    status = run_classic(app, environ=variables, stdin=io.BytesIO(body), stdout=out, **options)
    return status, out.getvalue()


def test_classic_binary_response_is_exact() -> None:
    status, body = classic(fastapi_app(), {"Http_Method": "GET", "Http_Path": "/binary"})
    assert (status, body) == (0, BINARY)


def test_classic_process_runs_lifespan_once() -> None:
    counts = {"startup": 0, "shutdown": 0}
    app = starlette_app(lifespan=counting_lifespan(counts))
    status, body = classic(app, {"Http_Method": "GET", "Http_Path": "/echo/x"})
    assert status == 0
    assert json.loads(body)["path"] == "/echo/x"
    assert counts == {"startup": 1, "shutdown": 1}


def test_classic_statuses_other_than_5xx_exit_zero() -> None:
    status, _ = classic(flask_app(), {"Http_Method": "GET", "Http_Path": "/no/such/route"})
    assert status == 0
    status, body = classic(raising_wsgi_app, {"Http_Method": "GET"}, exit_on_error=False)
    assert (status, body) == (0, b"Internal Server Error")


def test_classic_malformed_environment_is_a_400(caplog: pytest.LogCaptureFixture) -> None:
    # Bytes that are not UTF-8 reach os.environ as lone surrogates.
    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        status, body = classic(flask_app(), {"Http_Method": "GET", "Http_Path": "/echo/\udcff"})
    assert status == 0
    assert body.startswith(b"Bad Request")
    assert "malformed event" in caplog.text


def test_classic_startup_failure_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def failing(app: Any) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    app = starlette_app(lifespan=contextlib.asynccontextmanager(failing))
    with caplog.at_level(logging.ERROR, logger="faasify.openfaas"):
        status, body = classic(app, {"Http_Method": "GET", "Http_Path": "/echo/x"}, lifespan="on")
    assert (status, body) == (1, b"Internal Server Error")
    assert "failed to start" in caplog.text
