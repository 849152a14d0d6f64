"""CloudFront Lambda@Edge request events: header lines, the included body, generated answers."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from faasify import MalformedEventError
from faasify.adapters.aws.codecs import AwsCodecs
from faasify.adapters.aws.events import read_result
from faasify.core.http import Response
from tests.conftest import load_event


def test_detected_by_the_trigger_named_in_config(codecs: AwsCodecs) -> None:
    assert codecs.detect(load_event("cloudfront-viewer-request")) is codecs.edge_viewer_request
    assert codecs.detect(load_event("cloudfront-origin-request")) is codecs.edge_origin_request
    response_event = copy.deepcopy(load_event("cloudfront-viewer-request"))
    response_event["Records"][0]["cf"]["response"] = {"status": "200", "headers": {}}
    assert codecs.detect(response_event) is None  # a response trigger answers nothing
    assert codecs.detect(load_event("sqs")) is None


def test_viewer_request_of_the_docs(codecs: AwsCodecs) -> None:
    request = codecs.edge_viewer_request.decode(load_event("cloudfront-viewer-request"), None)
    assert (request.method, request.path, request.raw_path) == (
        "GET",
        "/picture/café.jpg",
        b"/picture/caf%C3%A9.jpg",
    )
    assert request.query_string == b"size=large&tag=a&tag=b"
    assert [v for k, v in request.headers if k == "x-multi"] == ["first", "second"]
    assert [v for k, v in request.headers if k == "cookie"] == ["session=abc123; theme=dark"]
    assert request.server == ("d111111abcdef8.cloudfront.net", 443)
    assert request.scheme == "https"
    assert request.client == ("203.0.113.178", 0)
    assert request.body == b""


def test_origin_request_with_the_included_body(codecs: AwsCodecs) -> None:
    request = codecs.edge_origin_request.decode(load_event("cloudfront-origin-request"), None)
    assert (request.method, request.path) == ("POST", "/orders")
    assert request.body == b'{"item": "milk"}'
    assert request.server == ("example.org", 443)


def test_a_body_cut_short_by_cloudfront_is_refused(codecs: AwsCodecs) -> None:
    event = copy.deepcopy(load_event("cloudfront-origin-request"))
    event["Records"][0]["cf"]["request"]["body"]["inputTruncated"] = True
    with pytest.raises(MalformedEventError, match="inputTruncated"):
        codecs.edge_origin_request.decode(event, None)


def test_generated_response_keeps_lines_and_leaves_out_refused_headers(codecs: AwsCodecs) -> None:
    response = Response(
        200,
        [("Content-Type", "image/png"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
         ("Content-Length", "3"), ("X-Amz-Cf-Id", "x"), ("Connection", "close"), ("Via", "1.1")],
        b"\x89PN",
    )  # fmt: skip
    result = codecs.edge_viewer_request.encode(response, None, None)
    assert result["status"] == "200"
    assert result["statusDescription"] == "OK"
    assert result["headers"]["set-cookie"] == [
        {"key": "Set-Cookie", "value": "a=1"},
        {"key": "Set-Cookie", "value": "b=2"},
    ]
    assert set(result["headers"]) == {"content-type", "set-cookie"}
    assert result["bodyEncoding"] == "base64"
    assert base64.b64decode(result["body"]) == b"\x89PN"
    assert read_result(result).status == 200


def test_an_empty_body_is_left_out(codecs: AwsCodecs) -> None:
    result = codecs.edge_origin_request.encode(Response(204, [], b""), None, None)
    assert "body" not in result
    assert "bodyEncoding" not in result


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.pop("method"), "Records[0].cf.request.method"),
        (lambda r: r.update(uri=7), "Records[0].cf.request.uri"),
        (lambda r: r.update(querystring={"a": "1"}), "Records[0].cf.request.querystring"),
        (lambda r: r.update(headers={"host": "x"}), "Records[0].cf.request.headers"),
        (lambda r: r.update(headers={"host": [{"key": "Host"}]}), "Records[0].cf.request.headers"),
        (
            lambda r: r.update(body={"encoding": "base64", "data": "%%"}),
            "body",
        ),
    ],
)
def test_a_malformed_event_names_the_field(codecs: AwsCodecs, change: Any, field: str) -> None:
    event = copy.deepcopy(load_event("cloudfront-viewer-request"))
    change(event["Records"][0]["cf"]["request"])
    with pytest.raises(MalformedEventError) as caught:
        codecs.edge_viewer_request.decode(event, None)
    assert caught.value.field == field


def test_records_without_cf_are_named(codecs: AwsCodecs) -> None:
    event = copy.deepcopy(load_event("cloudfront-viewer-request"))
    event["Records"][0]["cf"] = "not an object"
    with pytest.raises(MalformedEventError) as caught:
        codecs.edge_viewer_request.decode(event, None)
    assert caught.value.field == "Records[0].cf"
