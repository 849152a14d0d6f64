"""One request loop behind every front door: the same failures give the same answer.

Each front door is driven through its own entry point, as its host calls it,
with input that the door cannot read and with a request the app fails on. On
every door the first is a 400 with one ``malformed event`` line, the second a
500 with one ``unhandled exception in app`` line, and both get the same
``invoke`` line: the loop, not each door, decides what a failure looks like.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from faasify import handler
from faasify.adapters import aliyun, azure, gcf, huawei, openfaas, openwhisk, tencent
from faasify.adapters.aws.events import build_event, read_result
from faasify.adapters.ironfunctions import IronCodec
from faasify.core import AppOptions, HostedApp, RequestLoop
from faasify.local.platform_events import build_platform_event
from tests.support.apps import flask_app, starlette_app

# What every front door returns, read back as an HTTP status.
Status = Callable[[Any], int]


class Door:
    """One front door: how to build it around an app, and its two requests."""

    def __init__(
        self,
        source: str,
        build: Callable[[Any], Any],
        bad: Callable[[Any], Any],
        boom: Callable[[Any], Any],
        status: Status,
    ) -> None:
        self.source = source
        self.build = build
        self.bad = bad
        self.boom = boom
        self.status = status


def _lambda_bad(entry: Any) -> Any:
    event = build_event("http-api-v2", "GET", "/echo/x")
    del event["requestContext"]["http"]["method"]
    return entry(event, None)


def _lambda_status(result: Any) -> int:
    return read_result(result).status


def _edge_without_uri() -> Any:
    event = build_event("cloudfront-viewer-request", "GET", "/echo/x")
    del event["Records"][0]["cf"]["request"]["uri"]
    return event


def _gcf_request(path: str) -> Any:
    import flask
    from werkzeug.test import EnvironBuilder

    return flask.Request(EnvironBuilder(path=path, base_url="https://fn.example").get_environ())


def _azure_request(path: str | None) -> Any:
    import azure.functions as func

    url: Any = None if path is None else f"https://fn.example{path}"
    return func.HttpRequest("GET", url, headers={"host": "fn.example"}, body=b"")


def _template_event(path: str, body: Any = b"") -> Any:
    return SimpleNamespace(
        body=body, headers={"Host": "fn.example"}, method="GET", query="", path=path
    )


def _fc2_environ(path: str | None) -> dict[str, Any]:
    import io

    environ: dict[str, Any] = {"PATH_INFO": path or "/", "wsgi.input": io.BytesIO(b"")}
    if path is not None:
        environ["REQUEST_METHOD"] = "GET"
    return environ


class _StartResponse:
    status = ""

    def __call__(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        self.status = status
        return lambda data: None


def _fc2_call(entry: Any, environ: dict[str, Any]) -> _StartResponse:
    start = _StartResponse()
    b"".join(entry(environ, start))
    return start


def _fc3_event(path: str) -> bytes:
    return json.dumps(
        {
            "version": "v1",
            "rawPath": path,
            "headers": {"Host": "fn.example"},
            "queryParameters": {},
            "body": "",
            "isBase64Encoded": False,
            "requestContext": {"http": {"method": "GET", "path": path}},
        }
    ).encode()


def _iron_loop(app: Any) -> RequestLoop:
    # The loop both of IronFunctions' entry points serve with (their stdin and
    # stdout framing is tested in tests/adapters/test_ironfunctions.py).
    return RequestLoop(HostedApp(app, AppOptions(handle_signals=False)), codec=IronCodec(None))


def _iron_call(path: str | None) -> tuple[dict[str, str], bytes]:
    variables = {"METHOD": "GET", "HEADER_HOST": "fn.example"}
    if path is not None:
        variables["REQUEST_URL"] = f"http://fn.example/r/app{path}"
    return variables, b""


def _fn_doors() -> list[Door]:
    try:
        from tests.adapters.test_fn import gateway_call, http_status
    except ImportError:  # pragma: no cover - the fdk is a dev dependency
        return []
    from faasify.adapters.fn import handler as fn_handler

    return [
        Door(
            "fn",
            lambda app: fn_handler(app, handle_signals=False),
            lambda entry: gateway_call(entry, "GET", "http://fn.example/echo/x", [("x", 1)]),
            lambda entry: gateway_call(entry, "GET", "http://fn.example/boom"),
            http_status,
        )
    ]


DOORS: list[Door] = [
    Door(
        "http-api-v2",
        lambda app: handler(app, handle_signals=False),
        _lambda_bad,
        lambda entry: entry(build_event("http-api-v2", "GET", "/boom"), None),
        _lambda_status,
    ),
    Door(
        "gcf",
        lambda app: gcf.handler(app, handle_signals=False),
        lambda entry: entry(object()),
        lambda entry: entry(_gcf_request("/boom")),
        lambda response: int(response.status_code),
    ),
    Door(
        "azure",
        lambda app: azure.handler(app, base_path=""),
        lambda entry: entry(_azure_request(None)),
        lambda entry: entry(_azure_request("/boom")),
        lambda response: int(response.status_code),
    ),
    Door(
        "openfaas",
        lambda app: openfaas.http_handler(app, handle_signals=False),
        lambda entry: entry(_template_event("/echo/x", body=12)),
        lambda entry: entry(_template_event("/boom")),
        lambda result: int(result["statusCode"] if isinstance(result, dict) else result[1]),
    ),
    Door(
        "aliyun-fc2-http",
        lambda app: aliyun.http_handler(app, handle_signals=False),
        lambda entry: _fc2_call(entry, _fc2_environ(None)),
        lambda entry: _fc2_call(entry, _fc2_environ("/boom")),
        lambda start: int(start.status[:3]),
    ),
    Door(
        "aliyun-fc3-http",
        lambda app: aliyun.event_handler(app, handle_signals=False),
        lambda entry: entry(b"{not json", None),
        lambda entry: entry(_fc3_event("/boom"), None),
        lambda result: int(result["statusCode"]),
    ),
    Door(
        "ironfunctions",
        _iron_loop,
        lambda entry: entry(_iron_call(None), None),
        lambda entry: entry(_iron_call("/boom"), None),
        lambda response: int(response.status),
    ),
    Door(
        "vpc-lattice-v2",
        lambda app: handler(app, handle_signals=False),
        lambda entry: entry(
            dict(build_event("vpc-lattice-v2", "GET", "/echo/x"), method=None), None
        ),
        lambda entry: entry(build_event("vpc-lattice-v2", "GET", "/boom"), None),
        _lambda_status,
    ),
    Door(
        "vpc-lattice-v1",
        lambda app: handler(app, handle_signals=False),
        lambda entry: entry(
            dict(build_event("vpc-lattice-v1", "GET", "/echo/x"), method=None), None
        ),
        lambda entry: entry(build_event("vpc-lattice-v1", "GET", "/boom"), None),
        _lambda_status,
    ),
    Door(
        "cloudfront-viewer-request",
        lambda app: handler(app, handle_signals=False),
        lambda entry: entry(_edge_without_uri(), None),
        lambda entry: entry(build_event("cloudfront-viewer-request", "GET", "/boom"), None),
        _lambda_status,
    ),
    Door(
        "openwhisk",
        lambda app: openwhisk.handler(app, handle_signals=False),
        lambda entry: entry({"__ow_method": "get", "__ow_path": "/echo/x"}, None),
        lambda entry: entry(build_platform_event("openwhisk", "GET", "/boom"), None),
        lambda result: int(result["statusCode"]),
    ),
    Door(
        "tencent-scf",
        lambda app: tencent.handler(app, handle_signals=False),
        lambda entry: entry({"path": "/echo/x", "httpMethod": 5}, None),
        lambda entry: entry(build_platform_event("tencent-scf", "GET", "/boom"), None),
        lambda result: int(result["statusCode"]),
    ),
    Door(
        "huawei-functiongraph",
        lambda app: huawei.handler(app, handle_signals=False),
        lambda entry: entry({"path": "/echo/x", "httpMethod": "GET", "body": 3}, None),
        lambda entry: entry(build_platform_event("huawei-functiongraph", "GET", "/boom"), None),
        lambda result: int(result["statusCode"]),
    ),
    *_fn_doors(),
]


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app that lets its exception out (Flask answers its own 500 instead)."""
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app without lifespan support that raises before answering /boom."""
    if scope["type"] != "http":
        raise RuntimeError("no lifespan here")
    if scope["path"][len(scope["root_path"]) :] == "/boom":
        raise RuntimeError("boom")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def starlette_boom() -> Any:
    """Starlette answers its own 500 page, then raises the app's exception."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def boom(request: Any) -> Any:
        raise RuntimeError("boom")

    return Starlette(routes=[Route("/boom", boom)])


APPS: dict[str, Callable[[], Any]] = {
    "wsgi": lambda: wsgi_app,
    "asgi": lambda: asgi_app,
    "starlette": starlette_boom,
    "flask": flask_app,
    "starlette-echo": starlette_app,
}
FAILING_APPS = ("wsgi", "asgi", "starlette")


@pytest.fixture(params=DOORS, ids=[door.source for door in DOORS])
def door(request: pytest.FixtureRequest) -> Door:
    found: Door = request.param
    return found


@pytest.fixture(params=("flask", "starlette-echo"))
def entry(door: Door, request: pytest.FixtureRequest) -> Iterator[Any]:
    built = door.build(APPS[request.param]())
    yield built
    built.close()


@pytest.fixture(params=FAILING_APPS)
def failing_entry(door: Door, request: pytest.FixtureRequest) -> Iterator[Any]:
    built = door.build(APPS[request.param]())
    yield built
    built.close()


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == logger]


def test_input_the_door_cannot_read_is_a_400_and_one_malformed_event_line(
    door: Door, entry: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="faasify"):
        status = door.status(door.bad(entry))
    assert status == 400
    (problem,) = _lines(caplog, "faasify.app")
    assert problem["message"] == "malformed event"
    assert problem["source"] == door.source
    assert problem["error"].startswith("MalformedEventError: ")
    assert set(problem) == {"message", "request_id", "source", "field", "error"}
    (invoke,) = _lines(caplog, "faasify.invoke")
    assert invoke["status"] == 400
    assert invoke["source"] == door.source
    assert invoke["method"] is None
    assert invoke["path"] is None


def test_an_app_exception_is_a_500_and_one_app_error_line(
    door: Door, failing_entry: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="faasify"):
        status = door.status(door.boom(failing_entry))
    assert status == 500
    (problem,) = _lines(caplog, "faasify.app")
    assert problem["message"] == "unhandled exception in app"
    assert problem["source"] == door.source
    assert problem["method"] == "GET"
    assert problem["path"].endswith("/boom")
    assert problem["path"] == invoke_path(caplog)
    assert problem["error"] == "RuntimeError: boom"
    assert "Traceback" in problem["traceback"]
    (invoke,) = _lines(caplog, "faasify.invoke")
    assert {k: invoke[k] for k in ("source", "method", "status", "cold_start")} == {
        "source": door.source,
        "method": "GET",
        "status": 500,
        "cold_start": True,
    }
    assert invoke["path"].endswith("/boom")
    assert set(invoke) >= {"request_id", "duration_ms", "init_ms"}


def invoke_path(caplog: pytest.LogCaptureFixture) -> str:
    (invoke,) = _lines(caplog, "faasify.invoke")
    path: str = invoke["path"]
    return path


def test_a_bug_inside_a_codec_is_a_500_not_the_clients_400(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenCodec:
        source = "broken"

        def decode(self, event: Any, context: Any) -> Any:
            return event["missing"]  # a KeyError inside faasify, not a bad event

        def encode(self, response: Any, event: Any, context: Any) -> int:
            return int(response.status)

    loop = RequestLoop(
        HostedApp(flask_app(), AppOptions(handle_signals=False)), codec=BrokenCodec()
    )
    with caplog.at_level(logging.ERROR, logger="faasify.app"):
        assert loop({}, None) == 500
    (problem,) = _lines(caplog, "faasify.app")
    assert problem["message"] == "internal error"
    assert problem["stage"] == "decode"
    assert problem["error"] == "KeyError: 'missing'"
    loop.close()


def test_every_platform_module_is_a_door_here() -> None:
    """A new front door under faasify/adapters must join this file's list."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    modules = {
        name.removesuffix(".py")
        for name in os.listdir(os.path.join(here, "faasify", "adapters"))
        if name.endswith(".py") and not name.startswith("_")
    }
    covered = {
        "aliyun",
        "azure",
        "fn",
        "gcf",
        "huawei",
        "ironfunctions",
        "openfaas",
        "openwhisk",
        "tencent",
    }
    assert modules == covered
