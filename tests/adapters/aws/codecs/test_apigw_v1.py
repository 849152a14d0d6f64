"""Payload format 1.0 (REST APIs and HTTP APIs with version 1.0): its own rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from faasify import MalformedEventError
from faasify.adapters.aws.codecs import AwsCodecs
from faasify.adapters.aws.events import build_event
from faasify.core.http import Response
from tests.conftest import load_event


def test_detected_by_version_and_multi_value_maps(codecs: AwsCodecs) -> None:
    assert codecs.detect(load_event("rest-v1")) is codecs.rest
    assert codecs.detect(load_event("http-api-v1")) is codecs.http_api_v1
    single = load_event("rest-v1")
    del single["multiValueHeaders"]
    assert codecs.detect(single) is codecs.rest_single


def test_rest_api_keeps_repeated_header_values(codecs: AwsCodecs) -> None:
    request = codecs.rest.decode(load_event("rest-v1"), None)
    assert [v for k, v in request.headers if k == "x-multi"] == ["first", "second"]


def test_rest_stage_is_the_root_only_on_the_execute_api_host(codecs: AwsCodecs) -> None:
    on_aws = codecs.rest.decode(load_event("rest-v1"), None)
    assert (on_aws.root_path, on_aws.path) == ("/prod", "/hello/world")
    custom = codecs.rest.decode(load_event("rest-v1-post-base64"), None)
    assert (custom.root_path, custom.path) == ("", "/upload")


def test_rest_path_is_decoded_and_query_values_encoded_once(codecs: AwsCodecs) -> None:
    event = build_event("rest-v1", "GET", "/caf%C3%A9", "q=a+b&q=%26")
    request = codecs.rest.decode(event, None)
    assert request.path == "/café"
    assert request.query_string == b"q=a%20b&q=%26"


def test_http_api_v1_named_stage_is_the_root(codecs: AwsCodecs) -> None:
    event = build_event("http-api-v1", "GET", "/items", stage="dev")
    request = codecs.http_api_v1.decode(event, None)
    assert (request.root_path, request.path) == ("/dev", "/items")


def test_answer_follows_the_requests_header_mode(codecs: AwsCodecs) -> None:
    response = Response(200, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], b"")
    multi = codecs.rest.encode(response, None, None)
    assert multi["multiValueHeaders"] == {"Set-Cookie": ["a=1", "b=2"]}
    single = codecs.rest_single.encode(response, None, None)
    assert sorted(single["headers"].values()) == ["a=1", "b=2"]
    assert len({name.lower() for name in single["headers"]}) == 1


EVENT = build_event("rest-v1", "GET", "/x", "a=1")


def _with(value: Any, *path: str) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    target = event
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (_with(KeyError, "httpMethod"), "httpMethod"),
        (_with(5, "path"), "path"),
        (_with({"host": "x"}, "multiValueHeaders"), "multiValueHeaders"),
        (_with({"a": [1]}, "multiValueQueryStringParameters"), "multiValueQueryStringParameters"),
        (_with([1], "requestContext", "identity"), "requestContext.identity"),
        (_with({"data": 1}, "body"), "body"),
    ],
)
def test_a_malformed_event_names_the_field(
    codecs: AwsCodecs, event: dict[str, Any], field: str
) -> None:
    with pytest.raises(MalformedEventError) as caught:
        codecs.rest.decode(event, None)
    assert caught.value.field == field
