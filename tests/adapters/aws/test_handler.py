"""The handler's edges: bad events, non-HTTP events, warmups, app detection."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from faasify import (
    ConfigurationError,
    FaasifyError,
    LambdaHandler,
    UnsupportedEventError,
    asgi,
    handler,
    wsgi,
)
from faasify.adapters.aws.events import EventFormat, build_event, read_result
from faasify.core import detect_app_kind
from tests.support.apps import flask_app, starlette_app


@pytest.fixture(scope="module")
def star() -> LambdaHandler:
    return handler(starlette_app())


def _break(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(event)
    target = broken
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return broken


_DELETE = object()

MALFORMED = [
    ("http-api-v2", "requestContext.http", _DELETE),
    ("http-api-v2", "requestContext.http.method", _DELETE),
    ("http-api-v2", "body", "%%% not base64 %%%"),
    ("http-api-v2", "body", 12345),
    ("http-api-v2", "headers", {"x-n": 1}),
    ("http-api-v2", "headers", ["not", "a", "map"]),
    ("http-api-v2", "rawQueryString", 5),
    ("rest-v1", "httpMethod", None),
    ("rest-v1", "path", 17),
    ("rest-v1", "multiValueHeaders", {"x-a": "not-a-list-of-strings", "x-b": [3]}),
    ("rest-v1", "multiValueQueryStringParameters", {"q": [None]}),
    ("rest-v1", "body", "@@@"),
    ("alb", "path", _DELETE),
    ("alb", "headers", {"host": None}),
    ("alb-multi-value", "multiValueHeaders", "oops"),
]


@pytest.mark.parametrize(("event_format", "field", "value"), MALFORMED)
def test_malformed_event_gets_a_400_shaped_for_its_source_and_a_log_line(
    star: LambdaHandler,
    event_format: EventFormat,
    field: str,
    value: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = build_event(event_format, "POST", "/echo/x", "", [], b"\x00\x01", binary=True)
    if field == "body":
        event["isBase64Encoded"] = True
    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        result = star(_break(event, field, value), None)
    assert result["statusCode"] == 400
    assert b"Traceback" not in read_result(result).body
    if event_format.startswith("alb"):
        assert result["statusDescription"] == "400 Bad Request"
    line = json.loads(caplog.records[-1].getMessage())
    assert line["message"] == "malformed event"
    # The instance is fine afterwards.
    assert read_result(star(build_event(event_format, "GET", "/echo/ok"), None)).status == 200


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "SQS"),
        ({"Records": [{"EventSource": "aws:sns", "Sns": {}}]}, "SNS"),
        ({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, "EventBridge"),
        ({"hello": "world"}, "'hello'"),
        ([1, 2, 3], "list"),
        ("just a string", "str"),
        (None, "NoneType"),
    ],
)
def test_non_http_event_raises_an_error_naming_its_shape(
    star: LambdaHandler, event: Any, named: str
) -> None:
    with pytest.raises(UnsupportedEventError) as caught:
        star(event, None)
    assert named in str(caught.value)
    assert named in caught.value.shape
    assert isinstance(caught.value, FaasifyError)


def test_warmup_ping_is_answered_without_touching_the_app() -> None:
    calls: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    h = wsgi(app, is_warmup=lambda event: event.get("warmer") is True)
    assert h({"source": "serverless-plugin-warmup"}, None) == {"warmup": True, "cold_start": True}
    assert h({"warmer": True, "concurrency": 3}, None) == {"warmup": True, "cold_start": False}
    assert calls == []
    assert read_result(h(build_event("http-api-v2", "GET", "/"), None)).status == 200
    assert calls == ["/"]


def _wsgi_function(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return []


async def _asgi_function(scope: Any, receive: Any, send: Any) -> None:
    pass


class _AsgiClass:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


class _SyncThreeArgs:
    """An ASGI middleware written with a sync __call__ that returns the coroutine."""

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        return _asgi_function(scope, receive, send)


@pytest.mark.parametrize(
    ("app", "kind"),
    [
        (_wsgi_function, "wsgi"),
        (_asgi_function, "asgi"),
        (_AsgiClass(), "asgi"),
        (_SyncThreeArgs(), "asgi"),
        (flask_app(), "wsgi"),
        (starlette_app(), "asgi"),
    ],
    ids=["wsgi-function", "asgi-function", "asgi-class", "sync-3-args", "flask", "starlette"],
)
def test_app_kind_is_detected(app: Any, kind: str) -> None:
    assert detect_app_kind(app) == kind


def test_fastapi_and_django_are_detected() -> None:
    from django.core.handlers.asgi import ASGIHandler
    from fastapi import FastAPI

    from tests.support.apps import django_app

    assert detect_app_kind(FastAPI()) == "asgi"
    assert detect_app_kind(django_app()) == "wsgi"
    assert detect_app_kind(ASGIHandler()) == "asgi"


@pytest.mark.parametrize(
    "app", [lambda: None, lambda *args: None, object()], ids=["no-args", "varargs", "not-callable"]
)
def test_ambiguous_app_asks_for_an_explicit_wrapper(app: Any) -> None:
    with pytest.raises(
        ConfigurationError, match=r"faasify\.wsgi\(app\) or faasify\.asgi\(app\)|callable"
    ):
        handler(app)


def test_explicit_wrappers_skip_detection() -> None:
    def varargs_wsgi(*args: Any) -> list[bytes]:
        environ, start_response = args
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    h = wsgi(varargs_wsgi)
    assert read_result(h(build_event("http-api-v2", "GET", "/hi"), None)).body == b"/hi"

    async def varargs_asgi(*args: Any) -> None:
        scope, _receive, send = args
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": scope["path"].encode()})

    h2 = asgi(varargs_asgi)
    assert read_result(h2(build_event("http-api-v2", "GET", "/hey"), None)).body == b"/hey"


@pytest.mark.parametrize("base_path", ["api", "/api/", "api/"])
def test_bad_base_path_is_refused_at_build(base_path: str) -> None:
    with pytest.raises(ConfigurationError, match="base_path"):
        handler(starlette_app(), base_path=base_path)


def test_text_mime_types_are_user_extensible() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/vnd.custom")])
        return [b"plain words"]

    default = wsgi(app)(build_event("http-api-v2", "GET", "/"), None)
    assert default["isBase64Encoded"] is True
    extended = wsgi(app, text_mime_types=["application/vnd.custom"])(
        build_event("http-api-v2", "GET", "/"), None
    )
    assert extended["isBase64Encoded"] is False
    assert extended["body"] == "plain words"


def test_raw_event_and_context_reach_the_app() -> None:
    seen: dict[str, Any] = {}

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["wsgi"] = (environ["faasify.event"], environ["faasify.context"])
        start_response("204 No Content", [])
        return []

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        seen["asgi"] = (scope["aws.event"], scope["aws.context"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})

    event = build_event("http-api-v2", "GET", "/")
    context = object()
    wsgi(wsgi_app)(event, context)
    asgi(asgi_app, lifespan="off")(event, context)
    assert seen["wsgi"][0] is event
    assert seen["wsgi"][1] is context
    assert seen["asgi"][0] is event
    assert seen["asgi"][1] is context
