"""Application Load Balancer events: encoded query values, status descriptions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from faasify import MalformedEventError
from faasify.adapters.aws.codecs import AwsCodecs
from faasify.adapters.aws.events import build_event
from faasify.core.http import Response
from tests.conftest import load_event


def test_detected_by_the_elb_block_and_multi_value_maps(codecs: AwsCodecs) -> None:
    assert codecs.detect(load_event("alb")) is codecs.alb
    assert codecs.detect(load_event("alb-multi-value")) is codecs.alb_multi_value


def test_alb_cookie_lines_fold_into_one_header(codecs: AwsCodecs) -> None:
    request = codecs.alb_multi_value.decode(load_event("alb-multi-value"), None)
    cookies = [v for k, v in request.headers if k == "cookie"]
    assert len(cookies) == 1
    assert "theme=light" in cookies[0]


def test_query_values_stay_encoded_exactly_once(codecs: AwsCodecs) -> None:
    request = codecs.alb_multi_value.decode(load_event("alb-multi-value"), None)
    assert request.query_string == b"color=red&color=dark%20blue&q=caf%C3%A9"


def test_client_address_is_the_first_forwarded_for_entry(codecs: AwsCodecs) -> None:
    event = build_event("alb", "GET", "/", headers=[("x-forwarded-for", "203.0.113.9, 10.0.0.1")])
    assert codecs.alb.decode(event, None).client == ("203.0.113.9", 0)


def test_answer_carries_a_status_description(codecs: AwsCodecs) -> None:
    result = codecs.alb.encode(Response(404, [], b""), None, None)
    assert result["statusDescription"] == "404 Not Found"
    assert "headers" in result
    multi = codecs.alb_multi_value.encode(Response(200, [("X-A", "1")], b""), None, None)
    assert multi["multiValueHeaders"] == {"X-A": ["1"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("httpMethod"), "httpMethod"),
        (lambda e: e.update(path=5), "path"),
        (lambda e: e.update(headers={"host": 1}), "headers"),
        (lambda e: e.update(queryStringParameters="a=1"), "queryStringParameters"),
    ],
)
def test_a_malformed_event_names_the_field(codecs: AwsCodecs, change: Any, field: str) -> None:
    event = copy.deepcopy(build_event("alb", "GET", "/x", "a=1"))
    change(event)
    with pytest.raises(MalformedEventError) as caught:
        codecs.alb.decode(event, None)
    assert caught.value.field == field
