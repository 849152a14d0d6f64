"""Apache OpenWhisk and DigitalOcean raw web actions, from the fixtures of their docs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from faasify.adapters.openwhisk import handler
from faasify.local.platform_events import read_platform_result
from tests.support.apps import BINARY, fastapi_app, flask_app

CASES = json.loads((Path(__file__).parent / "fixtures" / "openwhisk_web_actions.json").read_text())[
    "cases"
]


@pytest.fixture(params=[flask_app, fastapi_app], ids=["flask", "fastapi"])
def main(request: pytest.FixtureRequest) -> Iterator[Any]:
    built = handler(request.param(), handle_signals=False)
    yield built
    built.close()


def _echo(result: dict[str, Any]) -> dict[str, Any]:
    answer = read_platform_result("openwhisk", result)
    assert answer.status == 200, answer.body
    seen: dict[str, Any] = json.loads(answer.body)
    return seen


def test_the_docs_raw_example_reaches_the_action_root(main: Any) -> None:
    params = dict(CASES["doc_raw_json"], __ow_path="/echo/jane")
    seen = _echo(main(params))
    assert seen["method"] == "POST"
    assert seen["query"] == [["name", "Jane"]]
    # application/json arrives base64 (the controller's "legacy" rule) and is decoded.
    assert base64.b64decode(seen["body"]) == b'{"name":"Jane"}'
    assert ("connection", "close") not in [tuple(h) for h in seen["headers"]]


def test_a_text_body_below_the_action(main: Any) -> None:
    seen = _echo(main(CASES["text_body_below_the_action"]))
    assert seen["method"] == "PUT"
    assert seen["path"] == "/echo/café"
    assert seen["query"] == [["tag", "a"], ["tag", "b"], ["q", "café"]]
    assert base64.b64decode(seen["body"]) == b"Jane"
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}


def test_digitalocean_http_block_decodes_by_its_flag(main: Any) -> None:
    seen = _echo(main(CASES["digitalocean_http_block"]))
    assert (seen["method"], seen["path"]) == ("POST", "/echo/upload")
    assert seen["query"] == [["lang", "en"]]
    assert base64.b64decode(seen["body"]) == b"\x00\x01\x02\xff"


def test_a_web_action_that_is_not_raw_is_a_400_that_says_so(
    main: Any, caplog: pytest.LogCaptureFixture
) -> None:
    result = main(CASES["not_raw"])
    assert result["statusCode"] == 400
    assert "--web raw" in caplog.text


def test_base_path_is_the_actions_url_prefix_for_links() -> None:
    main = handler(flask_app(), base_path="/api/v1/web/guest/demo/hello", handle_signals=False)
    seen = _echo(main(dict(CASES["text_body_below_the_action"])))
    main.close()
    assert seen["root_path"] == "/api/v1/web/guest/demo/hello"
    assert unquote(seen["link"]) == "/api/v1/web/guest/demo/hello/echo/x y"


def test_answers_in_the_controllers_terms(main: Any) -> None:
    get = dict(CASES["text_body_below_the_action"], __ow_method="get", __ow_body="")
    binary = main(dict(get, __ow_path="/binary"))
    assert base64.b64decode(binary["body"]) == BINARY
    cookies = main(dict(get, __ow_path="/cookies"))
    set_cookie = [v for k, v in cookies["headers"].items() if k.lower() == "set-cookie"]
    assert len(set_cookie) == 1
    assert len(set_cookie[0]) == 2  # one name, a list of both cookies
    assert cookies["body"] == "ok"  # text/plain goes as text
    echoed = main(dict(get, __ow_path="/echo/x"))
    # A JSON body goes base64, which the controller decodes for JSON types.
    assert json.loads(base64.b64decode(echoed["body"]))["path"] == "/echo/x"


@pytest.mark.parametrize(
    "params",
    [
        "not an object",
        {"__ow_path": "/x"},
        dict(CASES["doc_raw_json"], __ow_headers=["accept"]),
        dict(CASES["doc_raw_json"], __ow_body="%%% not base64"),
        dict(CASES["doc_raw_json"], __ow_method=7),
    ],
)
def test_malformed_parameters_are_a_400(
    main: Any, params: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(params)["statusCode"] == 400
    assert "malformed event" in caplog.text
