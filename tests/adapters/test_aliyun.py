"""Alibaba Cloud Function Compute: FC 2.0 HTTP functions and FC 3.0 HTTP trigger events.

FC 2.0 requests come from ``aliyun_fc2_http_params.json``: what the platform
hands the Python runtime, turned into the environ the way the runtime's
``get_environ`` does (:func:`fc2_environ`). FC 3.0 events come from
``aliyun_fc3_http_events.json`` and are passed as bytes, as the runtime does.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest

from faasify.adapters.aliyun import event_handler, http_handler
from tests.support.apps import BINARY, fastapi_app, flask_app

HERE = Path(__file__).parent / "fixtures"
FC2 = json.loads((HERE / "aliyun_fc2_http_params.json").read_text("utf-8"))["cases"]
FC3 = json.loads((HERE / "aliyun_fc3_http_events.json").read_text("utf-8"))["cases"]
FRAMEWORKS = {"flask": flask_app, "fastapi": fastapi_app}
PREFIX = "/2016-08-15/proxy/demo-svc.LATEST/echo-func"


def fc_context(request_id: str = "9f8e7d6c-0000-4b5a-8c7d-123456789abc") -> Any:
    """A stand-in for the runtime's FCContext: the fields the runtime reads."""
    return SimpleNamespace(
        request_id=request_id,
        region="cn-hangzhou",
        account_id="1234567890123456",
        function=SimpleNamespace(name="echo-func", handler="index.handler", memory=512),
        service=SimpleNamespace(name="demo-svc", qualifier="LATEST"),
    )


def fc2_environ(case: str, context: Any = None) -> dict[str, Any]:
    """The environ the FC 2.0 Python runtime builds for a fixture request.

    As its get_environ() does: the process environment, fixed WSGI keys, then
    the request from x-fc-http-params, each header's values joined with ","
    and Content-Type moved to CONTENT_TYPE.
    """
    params = FC2[case]["httpParams"]
    body = base64.b64decode(FC2[case]["bodyBase64"])
    context = context or fc_context()
    environ: dict[str, Any] = dict(os.environ)
    environ.update(
        {
            "CONTENT_LENGTH": str(len(body)),
            "HTTP": "on",
            "SCRIPT_NAME": "",
            "SERVER_NAME": "FCRUNTIME",
            "SERVER_PORT": "9000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "FCRUNTIME/1.0",
            "CONTENT_TYPE": "application/octet-stream",
            "QUERY_STRING": "",
            "wsgi.version": (1, 0),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "PATH_INFO": params["path"] or "/",
            "REQUEST_METHOD": params["method"],
            "fc.request_uri": params["requestURI"],
            "REMOTE_ADDR": params["clientIP"],
        }
    )
    headers = dict(params["headersMap"])
    for name in list(headers):
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = ",".join(headers.pop(name))
    for name, values in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = ",".join(values)
    if "?" in params["requestURI"]:
        environ["QUERY_STRING"] = params["requestURI"].split("?", 1)[1]
    environ["HTTP_X_FC_FUNCTION_HANDLER"] = context.function.handler
    environ["fc.context"] = context
    return environ


class StartResponse:
    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, headers
        return lambda data: None

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


def call_fc2(handler: Any, environ: dict[str, Any]) -> tuple[StartResponse, bytes]:
    start = StartResponse()
    body = b"".join(handler(environ, start))
    return start, body


def fc3_event(case: str) -> bytes:
    return json.dumps(FC3[case]).encode()


@pytest.fixture(params=list(FRAMEWORKS))
def app(request: pytest.FixtureRequest) -> Any:
    return FRAMEWORKS[request.param]()


@pytest.fixture
def fc2(app: Any) -> Iterator[Any]:
    handler = http_handler(app, handle_signals=False)
    yield handler
    handler.close()


@pytest.fixture
def fc3(app: Any) -> Iterator[Any]:
    handler = event_handler(app, handle_signals=False)
    yield handler
    handler.close()


# -- FC 2.0 --------------------------------------------------------------------------


def test_fc2_post_on_the_default_endpoint(fc2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The runtime merges the process environment into the environ.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("HTTP_TIMEOUT", "30")
    start, body = call_fc2(fc2, fc2_environ("default_endpoint_post"))
    assert start.status == "200 OK"
    seen = json.loads(body)
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo/café"
    assert seen["root_path"] == PREFIX
    assert unquote(seen["link"]) == PREFIX + "/echo/x y"
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "x y"]]
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}
    assert base64.b64decode(seen["body"]) == BINARY
    headers = dict(seen["headers"])
    assert headers["x-multi"] == "first,second"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["host"] == "1234567890123456.cn-hangzhou.fc.aliyuncs.com"
    for leaked in ("proxy", "timeout", "x-fc-function-handler"):
        assert leaked not in headers


def test_fc2_custom_domain_get(fc2: Any) -> None:
    start, body = call_fc2(fc2, fc2_environ("custom_domain_get"))
    assert start.status == "200 OK"
    seen = json.loads(body)
    assert (seen["path"], seen["root_path"]) == ("/echo/plain", "")
    assert seen["query"] == [["q", "café"]]
    assert seen["body"] == ""
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}
    headers = dict(seen["headers"])
    assert "content-type" not in headers  # the runtime's default, not the client's


def test_fc2_two_cookies_and_reserved_headers(fc2: Any) -> None:
    start, body = call_fc2(fc2, fc2_environ("cookies"))
    assert start.status == "200 OK"
    assert body == b"ok"
    assert len(start.values("set-cookie")) == 2
    assert start.values("content-length") == []


def test_fc2_binary_response(fc2: Any) -> None:
    environ = fc2_environ("cookies")
    environ["PATH_INFO"] = "/binary"
    environ["fc.request_uri"] = PREFIX + "/binary"
    start, body = call_fc2(fc2, environ)
    assert start.status == "200 OK"
    assert body == BINARY


def test_fc2_app_error_is_a_generic_500(fc2: Any) -> None:
    environ = fc2_environ("cookies")
    environ["PATH_INFO"] = "/boom"
    environ["fc.request_uri"] = PREFIX + "/boom"
    start, body = call_fc2(fc2, environ)
    assert start.status.startswith("500")
    assert b"secret detail" not in body


def test_fc2_malformed_environ_is_a_400(fc2: Any, caplog: pytest.LogCaptureFixture) -> None:
    environ = fc2_environ("cookies")
    del environ["REQUEST_METHOD"]
    start, body = call_fc2(fc2, environ)
    assert start.status == "400 Bad Request"
    assert body.startswith(b"Bad Request")
    assert "malformed event" in caplog.text


def capturing_app() -> tuple[Callable[..., Any], dict[str, Any]]:
    """A bare WSGI app that keeps the environ it was given."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.clear()
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    return app, seen


def test_fc2_function_root_without_a_slash() -> None:
    app, seen = capturing_app()
    handler = http_handler(app, handle_signals=False)
    start, _ = call_fc2(handler, fc2_environ("function_root"))
    handler.close()
    assert start.status == "204 No Content"
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == (PREFIX, "/")


def test_fc2_wsgi_app_keeps_fc_keys() -> None:
    app, seen = capturing_app()
    context = fc_context("req-1")
    handler = http_handler(app, handle_signals=False)
    start, _ = call_fc2(handler, fc2_environ("default_endpoint_post", context))
    handler.close()
    assert start.status == "204 No Content"
    assert seen["fc.context"] is context
    assert seen["fc.request_uri"].startswith(PREFIX + "/echo/caf%C3%A9?")
    assert seen["SCRIPT_NAME"] == PREFIX
    assert seen["PATH_INFO"] == "/echo/café".encode().decode("latin-1")
    assert seen["HTTP_COOKIE"] == "session=abc123; theme=dark"
    assert "HTTP_PROXY" not in seen


# -- FC 3.0 --------------------------------------------------------------------------


def test_fc3_doc_example_is_answered(fc3: Any) -> None:
    result = fc3(fc3_event("doc_example"), fc_context())
    assert set(result) == {"statusCode", "headers", "isBase64Encoded", "body"}
    assert result["statusCode"] == 404  # the echo apps have no /example


def test_fc3_post_binary(fc3: Any) -> None:
    result = fc3(fc3_event("post_binary"), fc_context())
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is False
    seen = json.loads(result["body"])
    assert seen["method"] == "POST"
    assert (seen["path"], seen["root_path"]) == ("/echo/café", "")
    assert unquote(seen["link"]) == "/echo/x y"
    assert seen["query"] == [["a", "1,2"], ["b", "x y"]]  # FC joined the values
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}
    assert base64.b64decode(seen["body"]) == BINARY
    headers = dict(seen["headers"])
    assert headers["x-multi"] == "first,second"
    assert headers["host"] == "echo-func-abcdefghij.cn-hangzhou.fcapp.run"


def test_fc3_cookies_joined_with_commas(fc3: Any) -> None:
    result = fc3(fc3_event("http2_cookies"))
    assert json.loads(result["body"])["cookies"] == {"session": "abc123", "theme": "dark"}


def test_fc3_two_set_cookies(fc3: Any) -> None:
    result = fc3(fc3_event("cookies"))
    assert result["statusCode"] == 200
    cookies = [v for k, v in result["headers"].items() if k.lower() == "set-cookie"]
    assert len(cookies) == 2
    assert any(c.startswith("a=1") for c in cookies)
    assert any(c.startswith("b=2") and "2037" in c for c in cookies)
    assert "content-length" not in {k.lower() for k in result["headers"]}


def test_fc3_binary_response_is_base64(fc3: Any) -> None:
    event = dict(FC3["cookies"], rawPath="/binary")
    result = fc3(json.dumps(event).encode())
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == BINARY


def test_fc3_app_error_is_a_generic_500(fc3: Any) -> None:
    event = dict(FC3["cookies"], rawPath="/boom")
    result = fc3(json.dumps(event).encode())
    assert result["statusCode"] == 500
    assert "secret detail" not in result["body"]


@pytest.mark.parametrize(
    "event",
    [b"not json", b"[]", json.dumps({"version": "v1", "rawPath": "/"}).encode(), 42],
)
def test_fc3_malformed_event_is_a_400(
    fc3: Any, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    result = fc3(event)
    assert result["statusCode"] == 400
    assert result["body"].startswith("Bad Request")
    assert "malformed event" in caplog.text


# -- one instance, one lifespan ------------------------------------------------------


def counted_fastapi() -> tuple[Any, dict[str, int]]:
    app = fastapi_app()
    runs = {"startup": 0, "shutdown": 0}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        runs["startup"] += 1
        yield
        runs["shutdown"] += 1

    app.router.lifespan_context = lifespan
    return app, runs


def test_lifespan_runs_once_over_many_requests() -> None:
    app, runs = counted_fastapi()
    fc3 = event_handler(app, handle_signals=False)
    assert runs == {"startup": 1, "shutdown": 0}
    for _ in range(5):
        assert fc3(fc3_event("post_binary"))["statusCode"] == 200
    fc3.close()
    assert runs == {"startup": 1, "shutdown": 1}

    app, runs = counted_fastapi()
    fc2 = http_handler(app, handle_signals=False)
    for _ in range(5):
        start, _ = call_fc2(fc2, fc2_environ("default_endpoint_post"))
        assert start.status == "200 OK"
    fc2.close()
    assert runs == {"startup": 1, "shutdown": 1}


def test_fc3_canonical_names_and_joined_values_reach_the_app_as_documented(fc3: Any) -> None:
    # FC canonicalises header names (Go's net/http) and joins a repeated header's or
    # query key's values with ",": the app gets lower-case names, the joined values
    # as one, and Cookie lines back as one "; "-joined header.
    result = fc3(fc3_event("canonical_names_joined_values"), fc_context())
    seen = json.loads(result["body"])
    headers = dict(seen["headers"])
    assert headers["x-custom-header"] == "value1,value2"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "X-Custom-Header" not in headers
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}
    assert seen["query"] == [["tag", "a,b"], ["q", "x y"]]
