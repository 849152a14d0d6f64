"""Every framework behind every AWS event source: what goes in is what the app sees."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import unquote

import pytest

from faasify import LambdaHandler, handler
from faasify.adapters.aws.events import EVENT_FORMATS, EventFormat, build_event, read_result
from tests.support.apps import BINARY, FRAMEWORKS

_handlers: dict[tuple[str, tuple[tuple[str, Any], ...]], LambdaHandler] = {}


def make(framework: str, **options: Any) -> LambdaHandler:
    """One handler per framework and options for the whole module (built at "cold start")."""
    key = (framework, tuple(sorted(options.items())))
    if key not in _handlers:
        _handlers[key] = handler(FRAMEWORKS[framework](), **options)
    return _handlers[key]


def echo(result: dict[str, Any]) -> dict[str, Any]:
    response = read_result(result)
    assert response.status == 200, response.body
    seen: dict[str, Any] = json.loads(response.body)
    return seen


def header_values(seen: dict[str, Any], name: str) -> list[str]:
    """Values of a request header as the app saw them, repeated or comma-joined."""
    return [
        part.strip() for key, value in seen["headers"] if key == name for part in value.split(",")
    ]


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_request_reaches_the_app_intact(framework: str, event_format: EventFormat) -> None:
    event = build_event(
        event_format,
        "GET",
        "/echo/caf%C3%A9/a%20b",
        "x=1&x=2&y=%C3%A9&empty=",
        [("X-Multi", "a"), ("X-Multi", "b"), ("Cookie", "c1=v1; c2=v2"), ("Accept", "*/*")],
        stage="$default",
    )
    seen = echo(make(framework)(event, None))
    assert seen["method"] == "GET"
    assert seen["path"] == "/echo/café/a b"
    assert seen["root_path"] == ""
    assert seen["cookies"] == {"c1": "v1", "c2": "v2"}
    if event_format == "alb":
        # Without multi-value headers ALB keeps the last of repeated names.
        assert seen["query"] == [["x", "2"], ["y", "é"], ["empty", ""]]
        assert header_values(seen, "x-multi") == ["b"]
    elif event_format == "vpc-lattice-v1":
        # Lattice 1.0 keeps a query key's last value and joins repeated headers.
        assert seen["query"] == [["x", "2"], ["y", "é"], ["empty", ""]]
        assert header_values(seen, "x-multi") == ["a", "b"]
    else:
        assert seen["query"] == [["x", "1"], ["x", "2"], ["y", "é"], ["empty", ""]]
        assert header_values(seen, "x-multi") == ["a", "b"]
    assert unquote(seen["link"]) == "/echo/x y"


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_binary_body_round_trips(framework: str, event_format: EventFormat) -> None:
    event = build_event(
        event_format,
        "POST",
        "/echo/upload",
        "",
        [("Content-Type", "application/octet-stream")],
        BINARY,
        binary=True,
    )
    seen = echo(make(framework)(event, None))
    assert base64.b64decode(seen["body"]) == BINARY


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_text_body_flagged_base64_is_decoded_by_the_flag(
    framework: str, event_format: EventFormat
) -> None:
    payload = json.dumps({"text": "héllo"}).encode()
    event = build_event(
        event_format,
        "POST",
        "/echo/json",
        "",
        [("Content-Type", "application/json")],
        payload,
        binary=True,
    )
    seen = echo(make(framework)(event, None))
    assert base64.b64decode(seen["body"]) == payload


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi", "django"])
def test_rest_api_stage_is_the_root_path_on_the_execute_api_host(framework: str) -> None:
    host = "abc123defg.execute-api.us-east-1.amazonaws.com"
    event = build_event("rest-v1", "GET", "/echo/here", stage="prod", host=host)
    seen = echo(make(framework)(event, None))
    assert seen["root_path"] == "/prod"
    assert seen["path"] == "/echo/here"
    assert unquote(seen["link"]) == "/prod/echo/x y"


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi", "django"])
def test_rest_api_stage_is_not_a_prefix_on_a_custom_domain(framework: str) -> None:
    event = build_event("rest-v1", "GET", "/echo/here", stage="prod", host="api.example.com")
    seen = echo(make(framework)(event, None))
    assert seen["root_path"] == ""
    assert unquote(seen["link"]) == "/echo/x y"


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi", "django"])
@pytest.mark.parametrize("event_format", ["http-api-v2", "http-api-v1"])
def test_http_api_named_stage_moves_into_the_root_path(
    framework: str, event_format: EventFormat
) -> None:
    event = build_event(event_format, "GET", "/echo/here", stage="dev")
    seen = echo(make(framework)(event, None))
    assert seen["root_path"] == "/dev"
    assert seen["path"] == "/echo/here"
    assert unquote(seen["link"]) == "/dev/echo/x y"


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi", "django"])
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_base_path_is_moved_into_the_root_path(framework: str, event_format: EventFormat) -> None:
    event = build_event(event_format, "GET", "/api/echo/here")
    seen = echo(make(framework, base_path="/api")(event, None))
    assert seen["root_path"] == "/api"
    assert seen["path"] == "/echo/here"
    assert unquote(seen["link"]) == "/api/echo/x y"


def _set_cookies(result: dict[str, Any]) -> list[str]:
    return read_result(result).header_values("set-cookie")


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi"])
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_every_set_cookie_reaches_the_client(framework: str, event_format: EventFormat) -> None:
    result = make(framework)(build_event(event_format, "GET", "/cookies"), None)
    cookies = sorted(_set_cookies(result))
    assert len(cookies) == 2
    assert cookies[0].startswith("a=1")
    assert cookies[1].startswith("b=2")
    assert "Wed, 21 Oct 2037" in cookies[1]
    if event_format in ("http-api-v2", "function-url"):
        assert len(result["cookies"]) == 2
        assert not any(k.lower() == "set-cookie" for k in result["headers"])
    elif event_format in ("rest-v1", "http-api-v1", "alb-multi-value"):
        assert "headers" not in result
        set_cookie = [
            v for k, v in result["multiValueHeaders"].items() if k.lower() == "set-cookie"
        ]
        assert [len(v) for v in set_cookie] == [2]
    elif event_format.startswith("cloudfront-"):
        # Lambda@Edge: one header entry holding a {key, value} line per cookie.
        assert len(result["headers"]["set-cookie"]) == 2
    else:
        # ALB without multi-value headers: one cookie per differently-cased name.
        names = [k for k in result["headers"] if k.lower() == "set-cookie"]
        assert len(names) == 2
        assert len(set(names)) == 2


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi"])
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_binary_response_is_base64(framework: str, event_format: EventFormat) -> None:
    result = make(framework)(build_event(event_format, "GET", "/binary"), None)
    if event_format.startswith("cloudfront-"):
        assert result["bodyEncoding"] == "base64"
    else:
        assert result["isBase64Encoded"] is True
    assert read_result(result).body == BINARY


@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_alb_answers_with_a_status_description(event_format: EventFormat) -> None:
    result = make("starlette")(build_event(event_format, "GET", "/nowhere"), None)
    assert read_result(result).status == 404
    if event_format.startswith("alb"):
        assert result["statusDescription"] == "404 Not Found"
    elif event_format.startswith("cloudfront-"):
        assert result["statusDescription"] == "Not Found"
    else:
        assert "statusDescription" not in result


@pytest.mark.parametrize("framework", ["flask", "starlette", "fastapi"])
@pytest.mark.parametrize("event_format", ["http-api-v2", "rest-v1", "alb"])
def test_app_exception_gives_a_generic_500_and_the_instance_stays_usable(
    framework: str, event_format: EventFormat
) -> None:
    app_handler = make(framework)
    result = app_handler(build_event(event_format, "GET", "/boom"), None)
    response = read_result(result)
    assert response.status == 500
    assert b"secret detail" not in response.body
    assert b"Traceback" not in response.body
    after = app_handler(build_event(event_format, "GET", "/echo/ok"), None)
    assert read_result(after).status == 200


def _raising_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("secret detail")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _raising_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError("no lifespan here")
    if scope["path"] == "/boom":
        raise RuntimeError("secret detail")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(
    "app",
    [_raising_wsgi_app, _raising_asgi_app, "starlette", "fastapi"],
    ids=lambda app: getattr(app, "__name__", app),
)
@pytest.mark.parametrize("event_format", ["http-api-v2", "rest-v1", "alb"])
def test_exception_escaping_the_app_is_logged_as_one_json_line(
    app: Any, event_format: EventFormat, caplog: pytest.LogCaptureFixture
) -> None:
    app_handler = make(app) if isinstance(app, str) else handler(app)
    caplog.set_level(logging.ERROR, logger="faasify.app")
    result = app_handler(build_event(event_format, "GET", "/boom"), None)
    response = read_result(result)
    assert response.status == 500
    assert b"secret detail" not in response.body
    assert b"Traceback" not in response.body
    records = [r for r in caplog.records if r.name == "faasify.app"]
    assert len(records) == 1
    line = json.loads(records[0].getMessage())
    assert line["message"] == "unhandled exception in app"
    assert "RuntimeError: secret detail" in line["error"]
    assert "Traceback" in line["traceback"]
    assert "\n" not in records[0].getMessage()
    after = app_handler(build_event(event_format, "GET", "/echo/ok"), None)
    assert read_result(after).status == 200
