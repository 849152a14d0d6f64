"""Huawei Cloud FunctionGraph behind an APIG trigger, from the fixtures of its docs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faasify.adapters.aws.events import read_result
from faasify.adapters.huawei import handler
from tests.support.apps import BINARY, fastapi_app, flask_app

CASES = json.loads((Path(__file__).parent / "fixtures" / "huawei_apig_events.json").read_text())[
    "cases"
]


@pytest.fixture(params=[flask_app, fastapi_app], ids=["flask", "fastapi"])
def function(request: pytest.FixtureRequest) -> Iterator[Any]:
    built = handler(request.param(), handle_signals=False)
    yield built
    built.close()


def test_the_docs_example_is_answered_in_the_required_shape(function: Any) -> None:
    result = function(CASES["doc_example"], None)
    assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert result["statusCode"] == 404


def test_the_base64_body_is_decoded_by_its_flag(function: Any) -> None:
    event = dict(CASES["doc_example"], path="/echo/template")
    seen = json.loads(read_result(function(event, None)).body)
    assert base64.b64decode(seen["body"]) == b'{"test":"body"}'
    assert seen["query"] == [["responseType", "html"]]
    assert seen["root_path"] == ""


def test_binary_post_and_answer(function: Any) -> None:
    seen = json.loads(read_result(function(CASES["post_binary"], None)).body)
    assert base64.b64decode(seen["body"]) == b"\x00\x01\x02\xff"
    assert seen["query"] == [["tag", "a"], ["tag", "b"]]
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}
    result = function(dict(CASES["post_binary"], path="/binary", httpMethod="GET"), None)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == BINARY


@pytest.mark.parametrize(
    "event",
    [
        [],
        dict(CASES["doc_example"], httpMethod=None),
        dict(CASES["doc_example"], body="%% not base64"),
        dict(CASES["doc_example"], queryStringParameters={"a": 1}),
    ],
)
def test_a_malformed_event_is_a_400(
    function: Any, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert function(event, None)["statusCode"] == 400
    assert "malformed event" in caplog.text
