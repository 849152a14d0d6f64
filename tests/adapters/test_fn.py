"""Fn Project: the handler driven through the fdk's own request processing.

Calls go through ``fdk.event_handler.event_handle``, the coroutine the fdk's
HTTP server runs for every ``POST /call``: it builds the ``InvokeContext``
from the call's headers, calls the handler inside its running event loop, and
returns the ``HTTPResponse`` it writes back to Fn. The headers of a call are
those the Fn server's HTTP trigger sends (``ServeHTTPTrigger``): each request
header as ``Fn-Http-H-<Name>`` except Content-Type, with ``Fn-Intent``,
``Fn-Http-Method`` and ``Fn-Http-Request-Url``. One test runs the fdk's real
server in a process and talks to it over its Unix socket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest

from faasify._exceptions import ConfigurationError
from faasify.adapters.fn import FnHandler, handler
from tests.support.apps import BINARY, fastapi_app, flask_app, starlette_app

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"flask": flask_app, "fastapi": fastapi_app}


def _import_fdk() -> tuple[ModuleType, ...]:
    """The fdk modules the tests drive, without the logging setup ``fdk.log``
    does at import (root logger at DEBUG, a stderr handler), which would
    change every later test in the session."""
    root, aio = logging.getLogger(), logging.getLogger("asyncio")
    saved = (root.level, root.handlers[:], aio.level)
    try:
        return tuple(
            importlib.import_module(f"fdk.{name}")
            for name in ("event_handler", "fixtures", "customer_code", "headers")
        )
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        aio.setLevel(saved[2])


event_handler, fixtures, customer_code, fdk_headers = _import_fdk()

_handlers: dict[tuple[str, str], FnHandler] = {}


def make(framework: str, base_path: str = "") -> FnHandler:
    """One handler per framework for the module: one hot container's worth."""
    key = (framework, base_path)
    if key not in _handlers:
        _handlers[key] = handler(FRAMEWORKS[framework](), base_path=base_path)
    return _handlers[key]


@pytest.fixture(scope="module", autouse=True)
def _close_handlers() -> Iterator[None]:
    yield
    for fn_handler in _handlers.values():
        fn_handler.close()


def invoke(handle_code: Any, call_headers: dict[str, Any], body: bytes = b"") -> Any:
    """One call through the fdk's own request handling, in an event loop as the fdk runs it."""
    request = SimpleNamespace(headers=call_headers, body=body)
    return asyncio.run(event_handler.event_handle(handle_code)(request))


def gateway_call(
    fn_handler: Any,
    method: str,
    url: str,
    headers: Iterable[tuple[str, Any]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Any:
    """A call from an HTTP trigger; a repeated header becomes a list, as in the fdk's tests."""
    call_headers: dict[str, Any] = {
        "fn-call-id": "01CALL",
        "fn-deadline": "2099-01-01T00:00:00Z",
        "fn-intent": "httprequest",
        "fn-http-method": method,
        "fn-http-request-url": url,
    }
    if content_type is not None:
        call_headers["content-type"] = content_type
    for name, value in headers:
        fdk_headers.push_header(call_headers, "fn-http-h-" + name.lower(), value)
    return invoke(fixtures.code(fn_handler), call_headers, body)


def http_status(response: Any) -> int:
    assert response.status == 200  # the call itself succeeded
    return int(response.headers["fn-http-status"])


def http_headers(response: Any) -> dict[str, Any]:
    prefix = "fn-http-h-"
    return {k[len(prefix) :]: v for k, v in response.headers.items() if k.startswith(prefix)}


def echo(response: Any) -> dict[str, Any]:
    assert http_status(response) == 200, response.body
    seen: dict[str, Any] = json.loads(response.body)
    return seen


def header_values(seen: dict[str, Any], name: str) -> list[str]:
    return [
        part.strip() for key, value in seen["headers"] if key == name for part in value.split(",")
    ]


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_request_reaches_the_app_intact(framework: str) -> None:
    seen = echo(
        gateway_call(
            make(framework),
            "GET",
            "http://fn.example:8080/echo/caf%C3%A9/a%20b?x=1&x=2&y=%C3%A9&empty=",
            [("X-Multi", "a"), ("X-Multi", "b"), ("Cookie", "c1=v1; c2=v2"), ("Accept", "*/*")],
        )
    )
    assert seen["method"] == "GET"
    assert seen["path"] == "/echo/café/a b"
    assert seen["root_path"] == ""
    assert seen["query"] == [["x", "1"], ["x", "2"], ["y", "é"], ["empty", ""]]
    assert seen["cookies"] == {"c1": "v1", "c2": "v2"}
    assert header_values(seen, "x-multi") == ["a", "b"]
    assert dict(seen["headers"])["host"] == "fn.example:8080"  # from the absolute URL
    assert unquote(seen["link"]) == "/echo/x y"


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_a_path_url_and_base_path(framework: str) -> None:
    # OCI's API gateway sends a path with the deployment's prefix in front.
    seen = echo(gateway_call(make(framework, "/v1"), "GET", "/v1/echo/x?q=1"))
    assert seen["path"] == "/echo/x"
    assert seen["root_path"] == "/v1"
    assert seen["query"] == [["q", "1"]]
    assert unquote(seen["link"]) == "/v1/echo/x y"


def test_base_path_is_checked_when_the_handler_is_built() -> None:
    with pytest.raises(ConfigurationError):
        handler(flask_app(), base_path="/t/app/")


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_binary_body_round_trips(framework: str) -> None:
    seen = echo(
        gateway_call(
            make(framework),
            "POST",
            "http://fn.example/echo/upload",
            body=BINARY,
            content_type="application/octet-stream",  # unprefixed, as the trigger sends it
        )
    )
    assert base64.b64decode(seen["body"]) == BINARY
    assert dict(seen["headers"])["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_binary_response_is_exact_on_the_wire(framework: str) -> None:
    response = gateway_call(make(framework), "GET", "http://fn.example/binary")
    assert http_status(response) == 200
    assert response.body == BINARY
    wire = response.output()
    assert wire.endswith(b"\r\n\r\n" + BINARY)
    assert b"content-type: application/octet-stream\r\n" in wire.lower()


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_status_travels_in_fn_http_status(framework: str) -> None:
    assert http_status(gateway_call(make(framework), "GET", "http://fn.example/nope")) == 404


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_one_set_cookie_gets_through_and_the_rest_are_logged(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    fn_handler = handler(FRAMEWORKS[framework]())
    with caplog.at_level(logging.WARNING, logger="faasify.fn"):
        first = gateway_call(fn_handler, "GET", "http://fn.example/cookies")
        gateway_call(fn_handler, "GET", "http://fn.example/cookies")
    fn_handler.close()
    assert first.body == b"ok"
    assert http_headers(first)["set-cookie"].startswith("a=1")
    assert b"fn-http-h-set-cookie: a=1" in first.output()
    warnings = [r for r in caplog.records if "Set-Cookie" in r.getMessage()]
    assert len(warnings) == 1  # once per handler, not per call


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_app_exception_is_a_500_without_its_detail(framework: str) -> None:
    response = gateway_call(make(framework), "GET", "http://fn.example/boom")
    assert http_status(response) == 500
    assert b"secret detail" not in response.body
    assert b"Traceback" not in response.body
    assert http_status(gateway_call(make(framework), "GET", "http://fn.example/echo/ok")) == 200


def raising_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("secret detail")


async def raising_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        raise RuntimeError("secret detail")


@pytest.mark.parametrize("app", [raising_wsgi_app, raising_asgi_app], ids=["wsgi", "asgi"])
def test_exception_escaping_the_app_is_a_generic_500_and_one_log_line(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fn_handler = handler(app)
    with caplog.at_level(logging.ERROR, logger="faasify.app"):
        response = gateway_call(fn_handler, "GET", "http://fn.example/x")
    fn_handler.close()
    assert http_status(response) == 500
    assert response.body == b"Internal Server Error"
    records = [r for r in caplog.records if r.name == "faasify.app"]
    assert len(records) == 1
    assert "RuntimeError: secret detail" in json.loads(records[0].getMessage())["error"]


def bare_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with no Content-Type, and reports what it was called with."""
    start_response("200 OK", [])
    body = environ["wsgi.input"].read()
    return [f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} ".encode() + body]


def test_a_response_without_content_type_does_not_say_none() -> None:
    fn_handler = handler(bare_wsgi_app)
    response = gateway_call(fn_handler, "GET", "http://fn.example/x")
    fn_handler.close()
    assert b"content-type: none" not in response.output().lower()
    assert response.headers["content-type"] == "application/octet-stream"


def test_a_direct_invoke_is_a_post_to_the_root() -> None:
    # `fn invoke` and OCI's invoke API send no Fn-Intent and no Fn-Http-* headers.
    fn_handler = handler(bare_wsgi_app)
    call = {"fn-call-id": "01", "fn-deadline": "2099-01-01T00:00:00Z", "content-type": "text/plain"}
    response = invoke(fixtures.code(fn_handler), call, b"hello")
    fn_handler.close()
    assert response.status == 200
    assert response.body == b"POST / hello"
    assert "fn-http-status" not in response.headers


def test_a_direct_invoke_that_fails_reads_as_a_failure() -> None:
    fn_handler = handler(raising_wsgi_app)
    response = invoke(fixtures.code(fn_handler), {"fn-call-id": "01"}, b"")
    fn_handler.close()
    assert response.status == 502  # the fdk passes only 200, 502 and 504 on


@pytest.mark.parametrize(
    "extra", [{"fn-http-h-x-number": 5}, {"fn-http-method": 7}], ids=["header", "method"]
)
def test_malformed_call_is_a_400(extra: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    call: dict[str, Any] = {
        "fn-call-id": "01",
        "fn-intent": "httprequest",
        "fn-http-method": "GET",
        "fn-http-request-url": "/echo/x",
        **extra,
    }
    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        response = invoke(fixtures.code(make("flask")), call)
    assert http_status(response) == 400
    assert response.body.startswith(b"Bad Request")
    assert "malformed event" in caplog.text


def test_asgi_lifespan_runs_once_across_calls_in_the_fdks_loop() -> None:
    counts = {"startup": 0, "shutdown": 0}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        counts["startup"] += 1
        yield
        counts["shutdown"] += 1

    fn_handler = handler(starlette_app(lifespan=lifespan))
    for i in range(10):
        # Each call runs inside a running loop, as in the fdk's server.
        assert http_status(gateway_call(fn_handler, "GET", f"http://fn.example/echo/{i}")) == 200
    assert counts == {"startup": 1, "shutdown": 0}
    fn_handler.close()
    assert counts == {"startup": 1, "shutdown": 1}


def test_a_failed_startup_is_a_generic_500_and_the_next_call_tries_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = {"startup": 0}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        attempts["startup"] += 1
        if attempts["startup"] <= 2:
            raise RuntimeError("cannot reach postgres://app:secret@db")
        yield

    with caplog.at_level(logging.ERROR, logger="faasify.fn"):
        fn_handler = handler(starlette_app(lifespan=lifespan))  # first attempt: fails
        failed = gateway_call(fn_handler, "GET", "http://fn.example/echo/x")  # second
    recovered = gateway_call(fn_handler, "GET", "http://fn.example/echo/x")  # third
    fn_handler.close()
    assert http_status(failed) == 500
    assert failed.body == b"Internal Server Error"
    assert http_status(recovered) == 200
    assert attempts == {"startup": 3}
    assert "failed to start" in caplog.text


FUNC_MODULE = """
from faasify._exceptions import ConfigurationError
from faasify.adapters.fn import handler as fn_handler
from tests.support.apps import {framework}_app

handler = fn_handler({framework}_app())
"""


@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")  # the fdk's import
def test_function_module_imported_by_the_fdk_inside_its_loop(tmp_path: Path) -> None:
    # The fdk imports the function's module on the first call, in its running
    # loop: the handler, and so the app's startup, is built there.
    func = tmp_path / "func.py"
    func.write_text(FUNC_MODULE.format(framework="fastapi"))
    code = customer_code.Function(str(func), entrypoint="handler")
    try:
        seen = echo(invoke(code, gateway_headers("GET", "http://fn.example/echo/first")))
        assert seen["path"] == "/echo/first"
        again = echo(invoke(code, gateway_headers("GET", "http://fn.example/echo/again")))
        assert again["path"] == "/echo/again"
    finally:
        code.handler().close()


def gateway_headers(method: str, url: str) -> dict[str, Any]:
    return {
        "fn-call-id": "01",
        "fn-intent": "httprequest",
        "fn-http-method": method,
        "fn-http-request-url": url,
    }


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def _post_call(
    listener: Path, lines: list[tuple[str, str]]
) -> tuple[http.client.HTTPResponse, bytes]:
    connection = _UnixConnection(str(listener))
    connection.putrequest("POST", "/call")
    for name, value in lines:
        connection.putheader(name, value)
    connection.putheader("Content-Length", "0")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


SERVED_MODULE = """
from pathlib import Path
from faasify._exceptions import ConfigurationError
from faasify.adapters.fn import handler as fn_handler
from tests.support.apps import flask_app

handler = fn_handler(
    flask_app(), on_shutdown=[lambda: Path({marker!r}).write_text("shut down")]
)
"""


def test_the_fdks_own_server_over_its_unix_socket(tmp_path: Path) -> None:
    func = tmp_path / "func.py"
    marker = tmp_path / "shutdown"
    func.write_text(SERVED_MODULE.format(marker=str(marker)))
    listener = tmp_path / "lsnr.sock"
    log = tmp_path / "stderr.log"
    env = {
        **os.environ,
        "FN_FORMAT": "http-stream",
        "FN_LISTENER": f"unix:{listener}",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from fdk.scripts.fdk import main; main()",
                str(func),
                "handler",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 10
        while not listener.exists():
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the fdk did not open its socket"
            time.sleep(0.02)
        trigger = [
            ("Fn-Call-Id", "01"),
            ("Fn-Intent", "httprequest"),
            ("Fn-Http-Method", "GET"),
        ]
        echoed, body = _post_call(
            listener,
            [
                *trigger,
                ("Fn-Http-Request-Url", "http://fn.example/echo/caf%C3%A9"),
                ("Fn-Http-H-X-Multi", "a"),
                ("Fn-Http-H-X-Multi", "b"),
            ],
        )
        assert echoed.status == 200
        assert echoed.getheader("Fn-Http-Status") == "200"
        seen = json.loads(body)
        assert seen["path"] == "/echo/café"
        # The fdk's server keeps the last of repeated header lines.
        assert header_values(seen, "x-multi") == ["b"]
        cookies, _ = _post_call(listener, [*trigger, ("Fn-Http-Request-Url", "http://x/cookies")])
        assert cookies.getheader("Fn-Http-Status") == "200"
        assert [v for k, v in cookies.getheaders() if k.lower() == "fn-http-h-set-cookie"] == [
            "a=1; Path=/"
        ]
    finally:
        process.terminate()  # Fn ends a hot container with SIGTERM
        process.wait(timeout=10)
    assert "Traceback" not in log.read_text(errors="replace")
    assert marker.read_text() == "shut down"  # the app's shutdown ran once, at the end
