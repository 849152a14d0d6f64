"""The runtime loop's pure parts: the prelude, an invocation's headers, the context."""

from __future__ import annotations

import json
import time

import pytest

from faasify.adapters.aws.runtime import LambdaContext
from faasify.adapters.aws.runtime.invocation import Invocation
from faasify.adapters.aws.runtime.loop import handler_spec, invoke_mode_from_environment
from faasify.adapters.aws.runtime.prelude import DELIMITER, http_prelude, result_parts


def test_the_prelude_merges_repeats_and_keeps_each_cookie_apart() -> None:
    data = http_prelude(
        201,
        [
            ("Content-Type", "text/plain"),
            ("X-Tag", "a"),
            ("x-tag", "b"),
            ("Set-Cookie", "a=1; Path=/"),
            ("set-cookie", "b=2, c"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
        ],
    )
    head, delimiter, rest = data.partition(DELIMITER)
    assert delimiter == b"\0" * 8
    assert rest == b""
    assert json.loads(head) == {
        "statusCode": 201,
        "headers": {"content-type": "text/plain", "x-tag": "a, b"},
        "cookies": ["a=1; Path=/", "b=2, c"],
    }


def test_no_nul_byte_of_a_header_can_end_the_prelude_early() -> None:
    data = http_prelude(200, [("X-Odd", "a\0b")])
    assert data.count(DELIMITER) == 1
    assert data.endswith(DELIMITER)


def test_a_handlers_http_answer_becomes_prelude_and_body() -> None:
    parts = result_parts(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "multiValueHeaders": {"X-A": ["1", "2"]},
            "body": "iVBORw==",
            "isBase64Encoded": True,
        }
    )
    assert parts is not None
    prelude, body = parts
    assert json.loads(prelude[:-8])["headers"] == {"content-type": "image/png", "x-a": "1, 2"}
    assert body == b"\x89PNG"
    assert result_parts({"statusCode": True}) is None
    assert result_parts({"records": []}) is None


def test_an_invocation_reads_every_header_and_the_context_gives_them() -> None:
    deadline = int((time.time() + 10) * 1000)
    invocation = Invocation(
        {
            "Lambda-Runtime-Aws-Request-Id": "r-1",
            "Lambda-Runtime-Invocation-Id": "i-1",
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:1:function:f",
            "Lambda-Runtime-Trace-Id": "Root=1-a",
            "Lambda-Runtime-Aws-Tenant-Id": "blue",
            "Lambda-Runtime-Client-Context": '{"custom": {"k": "v"}}',
            "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId": "id"}',
        },
        b"{}",
    )
    context = LambdaContext(invocation)
    assert (context.aws_request_id, context.invocation_id, context.tenant_id) == (
        "r-1",
        "i-1",
        "blue",
    )
    assert context.trace_id == "Root=1-a"
    assert context.client_context == {"custom": {"k": "v"}}
    assert context.identity == {"cognitoIdentityId": "id"}
    assert 0 < context.get_remaining_time_in_millis() <= 10_000
    assert 9 < invocation.remaining_seconds() <= 10


def test_a_context_header_that_is_not_json_is_refused() -> None:
    invocation = Invocation({"Lambda-Runtime-Client-Context": "{nope"}, b"{}")
    with pytest.raises(ValueError, match="client context"):
        LambdaContext(invocation)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("app.lambda_handler", "app:lambda_handler"),
        ("src/app.lambda_handler", "src.app:lambda_handler"),
        ("pkg.app.handler", "pkg.app:handler"),
        ("app:app", "app:app"),
        ("app", "app"),
    ],
)
def test_handlers_are_named_as_lambda_names_them(spec: str, expected: str) -> None:
    assert handler_spec(spec) == expected


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("", "buffered"),
        ("buffered", "buffered"),
        ("BUFFERED", "buffered"),
        ("response-stream", "response-stream"),
        ("RESPONSE_STREAM", "response-stream"),
    ],
)
def test_the_invoke_mode_variable_takes_both_spellings(
    monkeypatch: pytest.MonkeyPatch, value: str, mode: str
) -> None:
    monkeypatch.setenv("FAASIFY_INVOKE_MODE", value)
    assert invoke_mode_from_environment() == mode
