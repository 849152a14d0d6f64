"""VPC Lattice events, versions 1.0 and 2.0: lists of values, snake case, no context."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from faasify import MalformedEventError
from faasify.adapters.aws.codecs import AwsCodecs
from faasify.adapters.aws.events import build_event, read_result
from faasify.core.http import Response
from tests.conftest import load_event


def test_detected_by_the_service_network_or_the_snake_case_path(codecs: AwsCodecs) -> None:
    assert codecs.detect(load_event("vpc-lattice-v2")) is codecs.lattice_v2
    assert codecs.detect(load_event("vpc-lattice-v1")) is codecs.lattice_v1
    for name in ("alb", "http-api-v2", "rest-v1"):
        assert codecs.detect(load_event(name)) not in (codecs.lattice_v1, codecs.lattice_v2)


def test_version_2_keeps_every_value_of_the_docs_example(codecs: AwsCodecs) -> None:
    request = codecs.lattice_v2.decode(load_event("vpc-lattice-v2"), None)
    assert (request.method, request.path, request.raw_path) == (
        "POST",
        "/orders/café",
        b"/orders/caf%C3%A9",
    )
    assert request.query_string == b"QS1=value1&QS1=value2&lang=en"
    assert [v for k, v in request.headers if k == "header1"] == ["value1", "value2"]
    assert [v for k, v in request.headers if k == "cookie"] == ["session=abc123; theme=dark"]
    assert request.body == b'{"item": "milk"}\n'
    assert request.client == ("198.51.100.24", 0)
    assert request.server == (
        "orders-0a40eebed65f8d69c.7d67968.vpc-lattice-svcs.us-east-1.on.aws",
        443,
    )
    identity = request.event["requestContext"]["identity"]
    assert identity["principal"].endswith(":assumed-role/my-role/my-session")


def test_version_1_has_what_its_single_value_maps_kept(codecs: AwsCodecs) -> None:
    request = codecs.lattice_v1.decode(load_event("vpc-lattice-v1"), None)
    assert (request.method, request.path) == ("GET", "/orders/café")
    assert request.query_string == b"QS1=value2&lang=en"
    assert [v for k, v in request.headers if k == "header1"] == ["value1, value2"]
    assert request.body == b""


def test_query_values_are_encoded_once(codecs: AwsCodecs) -> None:
    event = build_event("vpc-lattice-v2", "GET", "/", "q=a%20b%26c&q=%C3%A9")
    assert codecs.lattice_v2.decode(event, None).query_string == b"q=a%20b%26c&q=%C3%A9"


def test_answer_has_one_value_per_header_and_every_cookie(codecs: AwsCodecs) -> None:
    response = Response(
        201,
        [("Content-Type", "text/plain"), ("X-A", "1"), ("X-A", "2"), ("Set-Cookie", "a=1"),
         ("Set-Cookie", "b=2"), ("Content-Length", "2"), ("Connection", "close")],
        b"ok",
    )  # fmt: skip
    for codec in (codecs.lattice_v1, codecs.lattice_v2):
        result = codec.encode(response, None, None)
        assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert result["headers"]["X-A"] == "1, 2"
        assert "Content-Length" not in result["headers"]
        assert "Connection" not in result["headers"]
        answer = read_result(result)
        assert (answer.status, answer.body) == (201, b"ok")
        assert sorted(answer.header_values("set-cookie")) == ["a=1", "b=2"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("method"), "method"),
        (lambda e: e.update(path=5), "path"),
        (lambda e: e.update(headers={"host": "one value, not a list"}), "headers"),
        (lambda e: e.update(queryStringParameters={"q": 1}), "queryStringParameters"),
        (lambda e: e.update(isBase64Encoded=True, body="%%%"), "body"),
    ],
)
def test_a_malformed_v2_event_names_the_field(codecs: AwsCodecs, change: Any, field: str) -> None:
    event = copy.deepcopy(load_event("vpc-lattice-v2"))
    change(event)
    with pytest.raises(MalformedEventError) as caught:
        codecs.lattice_v2.decode(event, None)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("method"), "method"),
        (lambda e: e.update(raw_path=["/"]), "raw_path"),
        (lambda e: e.update(headers={"host": ["a"]}), "headers"),
        (lambda e: e.update(query_string_parameters={"q": 1}), "query_string_parameters"),
    ],
)
def test_a_malformed_v1_event_names_the_field(codecs: AwsCodecs, change: Any, field: str) -> None:
    event = copy.deepcopy(load_event("vpc-lattice-v1"))
    change(event)
    with pytest.raises(MalformedEventError) as caught:
        codecs.lattice_v1.decode(event, None)
    assert caught.value.field == field
