"""Tencent Cloud SCF behind an API Gateway trigger, from the fixtures of its docs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from faasify.adapters.aws.events import read_result
from faasify.adapters.tencent import handler
from tests.support.apps import BINARY, fastapi_app, flask_app

CASES = json.loads((Path(__file__).parent / "fixtures" / "tencent_apigw_events.json").read_text())[
    "cases"
]


@pytest.fixture(params=[flask_app, fastapi_app], ids=["flask", "fastapi"])
def main_handler(request: pytest.FixtureRequest) -> Iterator[Any]:
    built = handler(request.param(), handle_signals=False)
    yield built
    built.close()


def test_the_docs_example_is_answered(main_handler: Any) -> None:
    result = main_handler(CASES["doc_example"], None)
    assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert result["statusCode"] == 404  # the echo apps have no /test/value


def test_the_environment_is_the_root_path_on_the_gateways_domain(main_handler: Any) -> None:
    answer = read_result(main_handler(CASES["default_domain_get"], None))
    assert answer.status == 200
    seen = json.loads(answer.body)
    assert (seen["root_path"], seen["path"]) == ("/release", "/echo/café")
    assert unquote(seen["link"]) == "/release/echo/x y"
    assert seen["query"] == [["tag", "a"], ["tag", "b"], ["q", "x y"]]
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}


def test_a_custom_domain_has_no_environment_in_its_urls(main_handler: Any) -> None:
    event = json.loads(json.dumps(CASES["default_domain_get"]))
    event["headers"]["Host"] = "api.example.com"
    seen = json.loads(read_result(main_handler(event, None)).body)
    assert seen["root_path"] == ""


def test_binary_both_ways(main_handler: Any) -> None:
    event = dict(CASES["default_domain_get"], httpMethod="POST", path="/echo/upload",
                 body=base64.b64encode(BINARY).decode(), isBase64Encoded=True)  # fmt: skip
    seen = json.loads(read_result(main_handler(event, None)).body)
    assert base64.b64decode(seen["body"]) == BINARY
    result = main_handler(dict(CASES["default_domain_get"], path="/binary"), None)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == BINARY


@pytest.mark.parametrize(
    "event",
    [
        b"{not json",
        {"path": "/echo/x"},
        dict(CASES["default_domain_get"], queryString={"q": 1}),
        dict(CASES["default_domain_get"], headers={"Host": ["a"]}),
    ],
)
def test_a_malformed_event_is_a_400(
    main_handler: Any, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert main_handler(event, None)["statusCode"] == 400
    assert "malformed event" in caplog.text
