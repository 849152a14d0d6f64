"""Payload format 2.0 (HTTP APIs and Function URLs): the rules only this shape has."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from faasify import MalformedEventError
from faasify.adapters.aws.codecs import AwsCodecs
from faasify.adapters.aws.events import build_event
from faasify.core.http import Response
from tests.conftest import load_event


def test_detected_by_version_and_function_url_by_its_domain(codecs: AwsCodecs) -> None:
    assert codecs.detect(load_event("http-api-v2")) is codecs.http_api_v2
    assert codecs.detect(load_event("function-url")) is codecs.function_url


def test_function_url_cookie_is_not_doubled(codecs: AwsCodecs) -> None:
    """Function URLs send the Cookie header and the cookies array: use it once."""
    event = load_event("function-url")
    request = codecs.function_url.decode(event, None)
    assert [v for k, v in request.headers if k == "cookie"] == [
        "csrftoken=Xy9kQ2pL; visitor=returning"
    ]


def test_cookies_array_becomes_one_cookie_header(codecs: AwsCodecs) -> None:
    request = codecs.http_api_v2.decode(load_event("http-api-v2"), None)
    assert [v for k, v in request.headers if k == "cookie"] == [
        "session_id=s3ss10n-7f2c9e; theme=dark"
    ]


def test_http_api_path_is_decoded_and_function_url_path_is_not(codecs: AwsCodecs) -> None:
    api = codecs.http_api_v2.decode(build_event("http-api-v2", "GET", "/caf%C3%A9"), None)
    url = codecs.function_url.decode(build_event("function-url", "GET", "/caf%C3%A9"), None)
    assert api.path == url.path == "/café"
    assert url.raw_path == b"/caf%C3%A9"


def test_a_named_stage_moves_into_the_root_path_and_default_never_does(
    codecs: AwsCodecs,
) -> None:
    named = codecs.http_api_v2.decode(load_event("http-api-v2-stage"), None)
    assert (named.root_path, named.path) == ("/dev", "/hello")
    event = build_event("http-api-v2", "GET", "/$default/x")
    plain = codecs.http_api_v2.decode(event, None)
    assert (plain.root_path, plain.path) == ("", "/$default/x")


def test_base_path_follows_the_stage(api_codecs: AwsCodecs) -> None:
    event = build_event("http-api-v2", "GET", "/api/items", stage="dev")
    request = api_codecs.http_api_v2.decode(event, None)
    assert (request.root_path, request.path) == ("/dev/api", "/items")


def test_hand_made_capitalised_header_names_are_lowered(codecs: AwsCodecs) -> None:
    event = build_event("http-api-v2", "GET", "/")
    event["headers"] = {"X-Custom": "1", "Host": "example.com"}
    request = codecs.http_api_v2.decode(event, None)
    assert ("x-custom", "1") in request.headers


def test_set_cookie_goes_in_the_cookies_array(codecs: AwsCodecs) -> None:
    response = Response(
        200,
        [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Many", "1"), ("X-Many", "2")],
        b"",
    )
    result = codecs.http_api_v2.encode(response, None, None)
    assert result["cookies"] == ["a=1", "b=2"]
    assert result["headers"] == {"x-many": "1, 2"}


def _without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


def _with(event: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return event


EVENT = build_event("http-api-v2", "POST", "/x", headers=[("cookie", "a=1")], body=b"{}")


def test_a_header_value_that_is_not_text_is_refused_before_the_app() -> None:
    """2.0 header values are read without a check per value (the hot path);
    the runner refuses one that is not text, before the app sees it."""
    import faasify

    seen: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    lambda_handler = faasify.asgi(app, lifespan="off", handle_signals=False)
    for bad in ({"x": 1}, {"x": "\udc80"}):
        result = lambda_handler(_with(EVENT, bad, "headers"), None)
        assert result["statusCode"] == 400
    assert seen == []
    lambda_handler.close()


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (_without(EVENT, "requestContext", "http", "method"), "requestContext.http.method"),
        (_with(EVENT, None, "requestContext", "http"), "requestContext.http"),
        (_with(EVENT, 7, "requestContext", "http", "method"), "requestContext.http.method"),
        (_with(EVENT, ["a"], "headers"), "headers"),
        (_with(EVENT, "a=1", "cookies"), "cookies"),
        (_with(EVENT, 12, "body"), "body"),
        (_with(_with(EVENT, True, "isBase64Encoded"), "%%%", "body"), "body"),
        (_with(EVENT, 3, "rawQueryString"), "rawQueryString"),
    ],
)
def test_a_malformed_event_names_the_field(
    codecs: AwsCodecs, event: dict[str, Any], field: str
) -> None:
    with pytest.raises(MalformedEventError) as caught:
        codecs.http_api_v2.decode(event, None)
    assert caught.value.field == field
    assert caught.value.source in ("http-api-v2", "")
