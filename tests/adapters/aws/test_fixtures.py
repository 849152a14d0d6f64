"""Real-shaped AWS events (tests/events/, sources named in its README) decode
to the request a client sent, and come back in the shape each source expects."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from faasify import UnsupportedEventError, handler
from faasify.adapters.aws.codecs import AwsCodecs, CodecOptions
from faasify.adapters.aws.events import read_result
from faasify.core.body import TextTypes
from tests.conftest import load_event
from tests.support.apps import flask_app, starlette_app

CODECS = AwsCodecs(CodecOptions(text_types=TextTypes()))
detect_source = CODECS.detect

# fixture -> (source, method, root_path, path, query_string, cookie header, body)
EXPECTED: dict[str, tuple[str, str, str, str, bytes, str | None, bytes]] = {
    "rest-v1": (
        "rest-v1", "GET", "/prod", "/hello/world", b"name=me&tag=a&tag=b",
        None, b"",
    ),
    "rest-v1-post-base64": (
        "rest-v1", "POST", "", "/upload", b"", None,
        base64.b64decode("iVBORw0KGgoAAAANSUhEUgD//oB/wygKDQCpEOKCrPA="),
    ),
    "http-api-v1": (
        "http-api-v1", "POST", "", "/items", b"", None,
        b'{"name":"Widget","price":9.5,"tags":["blue","small"]}',
    ),
    "http-api-v2": (
        "http-api-v2", "GET", "", "/hello/world", b"name=me&tag=a&tag=b",
        "session_id=s3ss10n-7f2c9e; theme=dark", b"",
    ),
    "http-api-v2-stage": ("http-api-v2", "GET", "/dev", "/hello", b"", None, b""),
    "http-api-v2-post-base64": (
        "http-api-v2", "POST", "", "/orders", b"", None,
        '{"sku":"XK-42","qty":3,"note":"gift wrap ✓"}'.encode(),
    ),
    "function-url": (
        "function-url", "POST", "", "/submit", b"lang=en&ref=newsletter",
        "csrftoken=Xy9kQ2pL; visitor=returning",
        b'{"email":"user@example.org","subscribe":true}',
    ),
    "alb": ("alb", "GET", "", "/lambda", b"query=1234ABCD&enc=a%20b", None, b""),
    "alb-multi-value": (
        "alb-multi-value", "GET", "", "/search", b"color=red&color=dark%20blue&q=caf%C3%A9",
        None, b"",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(EXPECTED))
def test_fixture_decodes_to_the_clients_request(name: str) -> None:
    source_name, method, root_path, path, query, cookie, body = EXPECTED[name]
    # Named after its shape (faasify.adapters.aws.shapes), as codecs and builders are.
    assert name == source_name or name.startswith(f"{source_name}-")
    event = load_event(name)
    source = detect_source(event)
    assert source is not None
    assert source.source == source_name
    request = source.decode(event, None)
    assert request.method == method
    assert request.root_path == root_path
    assert request.path == path
    assert request.query_string == query
    assert request.body == body
    names = [header for header, _ in request.headers]
    assert names == [n.lower() for n in names]
    cookies = [value for header, value in request.headers if header == "cookie"]
    assert len(cookies) <= 1
    if cookie is not None:
        assert cookies == [cookie]


def _expected_keys(name: str) -> set[str]:
    if name.startswith(("http-api-v2", "function-url")):
        return {"statusCode", "headers", "body", "isBase64Encoded"}
    if name == "alb":
        return {"statusCode", "statusDescription", "headers", "body", "isBase64Encoded"}
    if name == "alb-multi-value":
        return {"statusCode", "statusDescription", "multiValueHeaders", "body", "isBase64Encoded"}
    return {"statusCode", "multiValueHeaders", "body", "isBase64Encoded"}


@pytest.mark.parametrize("app_factory", [starlette_app, flask_app], ids=["starlette", "flask"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_fixture_round_trip_through_an_app(app_factory: Any, name: str) -> None:
    event = load_event(name)
    *_, body = EXPECTED[name]
    path = event.get("rawPath") or event["path"]
    # Route the fixture's request to the echo view, keeping everything else.
    if "rawPath" in event:
        prefix = "/dev" if path.startswith("/dev") else ""
        event["rawPath"] = prefix + "/echo" + path[len(prefix) :]
    else:
        event["path"] = "/echo" + path
    result = handler(app_factory())(event, None)
    assert set(result) == _expected_keys(name)
    response = read_result(result)
    assert response.status == 200
    seen = json.loads(response.body)
    assert base64.b64decode(seen["body"]) == body
    assert seen["method"] == EXPECTED[name][1]


@pytest.mark.parametrize("name", ["sqs", "eventbridge-scheduled"])
def test_non_http_fixtures_are_refused_by_name(name: str) -> None:
    with pytest.raises(UnsupportedEventError, match=r"SQS|EventBridge"):
        handler(starlette_app())(load_event(name), None)


def test_warmup_fixture_is_answered_without_the_app() -> None:
    assert handler(starlette_app())(load_event("warmup"), None)["warmup"] is True
