"""What users of mangum, apig-wsgi and serverless-wsgi rely on, which faasify keeps.

Each test is built from the event or the app that a user migrating would bring.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from faasify import asgi, handler, wsgi
from faasify.adapters.aws.events import EventFormat, build_event, read_result

ROOT = Path(__file__).resolve().parents[3]


def environ_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app that answers with the parts of its environ the tests read."""
    keys = ("SERVER_NAME", "HTTP_HOST", "HTTP_USER_AGENT", "REMOTE_USER", "REMOTE_ADDR")
    seen = {key: environ.get(key) for key in keys}
    seen["PATH_INFO"] = environ["PATH_INFO"]
    seen["HTTP_X_MULTI"] = environ.get("HTTP_X_MULTI")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


def _environ(lambda_handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    result = read_result(lambda_handler(event, None))
    assert result.status == 200, result.body
    seen: dict[str, Any] = json.loads(result.body)
    return seen


# The shape direct invokes and test harnesses send (apig-wsgi #289, Zappa #970).
NO_CONTEXT = {
    "version": "1.0",
    "httpMethod": "GET",
    "path": "/hello",
    "multiValueHeaders": {"Host": ["example.com"]},
    "multiValueQueryStringParameters": None,
    "body": "",
    "isBase64Encoded": False,
}


@pytest.mark.parametrize("context", ["absent", None])
def test_an_event_without_a_request_context_is_answered(context: object) -> None:
    event = dict(NO_CONTEXT)
    if context is None:
        event["requestContext"] = None
    lambda_handler = wsgi(environ_app, handle_signals=False)
    seen = _environ(lambda_handler, event)
    assert seen["PATH_INFO"] == "/hello"
    assert seen["SERVER_NAME"] == seen["HTTP_HOST"] == "example.com"
    lambda_handler.close()


def test_multi_value_headers_cut_short_keep_the_single_value_ones() -> None:
    """AWS's own sample event lists Host and User-Agent only in ``headers``."""
    event = build_event("rest-v1", "GET", "/x", headers=[("user-agent", "curl/8"), ("x-a", "1")])
    event["headers"] = {"Host": "api.example.com", "User-Agent": "curl/8", "X-A": "1"}
    event["multiValueHeaders"] = {"X-A": ["1"]}
    lambda_handler = wsgi(environ_app, handle_signals=False)
    seen = _environ(lambda_handler, event)
    assert seen["SERVER_NAME"] == seen["HTTP_HOST"] == "api.example.com"
    assert seen["HTTP_USER_AGENT"] == "curl/8"
    lambda_handler.close()


def test_capitalised_2_0_header_names_give_one_server_name() -> None:
    event = build_event("http-api-v2", "GET", "/x")
    event["headers"] = {"Host": "example.com", "User-Agent": "hand-made"}
    lambda_handler = wsgi(environ_app, handle_signals=False)
    seen = _environ(lambda_handler, event)
    assert seen["SERVER_NAME"] == seen["HTTP_HOST"] == "example.com"
    lambda_handler.close()


def test_a_repeated_1_0_header_reaches_the_app_as_two_headers() -> None:
    seen_headers: list[tuple[bytes, bytes]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen_headers.extend(scope["headers"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    lambda_handler = asgi(app, lifespan="off", handle_signals=False)
    event = build_event("rest-v1", "GET", "/", headers=[("x-multi", "a"), ("x-multi", "b")])
    assert read_result(lambda_handler(event, None)).status == 204
    assert [v for k, v in seen_headers if k == b"x-multi"] == [b"a", b"b"]
    # A WSGI app sees them folded into one value, as RFC 9110 allows.
    flask_like = wsgi(environ_app, handle_signals=False)
    assert _environ(flask_like, event)["HTTP_X_MULTI"] == "a,b"
    lambda_handler.close()
    flask_like.close()


@pytest.mark.parametrize(
    ("event_format", "authorizer", "user"),
    [
        ("rest-v1", {"principalId": "user-7", "integrationLatency": 3}, "user-7"),
        ("rest-v1", {"claims": {"sub": "cognito-sub", "email": "a@b.c"}}, "cognito-sub"),
        ("http-api-v1", {"principalId": "lambda-auth"}, "lambda-auth"),
        ("http-api-v2", {"jwt": {"claims": {"sub": "jwt-sub"}, "scopes": None}}, "jwt-sub"),
        ("http-api-v2", {"iam": {"userArn": "arn:aws:iam::1:user/x"}}, "arn:aws:iam::1:user/x"),
        ("http-api-v2", {"lambda": {"principalId": "ctx-user"}}, "ctx-user"),
        ("rest-v1", None, None),
        ("http-api-v2", {"jwt": {"claims": {}}}, None),
    ],
)
def test_remote_user_is_the_authorizers_principal(
    event_format: EventFormat, authorizer: Any, user: str | None
) -> None:
    event = build_event(event_format, "GET", "/x")
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    lambda_handler = wsgi(environ_app, handle_signals=False)
    assert _environ(lambda_handler, event)["REMOTE_USER"] == user
    lambda_handler.close()


def test_remote_addr_is_the_source_ip_api_gateway_saw_not_a_forwarded_for_claim() -> None:
    event = build_event(
        "rest-v1", "GET", "/x", headers=[("x-forwarded-for", "6.6.6.6")], source_ip="203.0.113.9"
    )
    lambda_handler = wsgi(environ_app, handle_signals=False)
    assert _environ(lambda_handler, event)["REMOTE_ADDR"] == "203.0.113.9"
    lambda_handler.close()


def test_a_response_without_content_type_goes_as_text_when_it_is_utf8() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    lambda_handler = wsgi(app, handle_signals=False)
    text = lambda_handler(build_event("http-api-v2", "GET", "/plain"), None)
    assert (text["body"], text["isBase64Encoded"]) == ("/plain", False)

    def binary(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"\xff\xfe"]

    raw = wsgi(binary, handle_signals=False)(build_event("http-api-v2", "GET", "/"), None)
    assert raw["isBase64Encoded"] is True
    assert base64.b64decode(raw["body"]) == b"\xff\xfe"
    lambda_handler.close()


def _no_lifespan_app() -> Any:
    """An ASGI app that answers every scope as HTTP, never looking at its type."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})

    return app


def test_auto_lifespan_goes_on_when_the_app_answers_it_as_http(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="faasify.core.runners.lifespan"):
        lambda_handler = handler(_no_lifespan_app(), handle_signals=False)
        for _ in range(3):
            result = read_result(lambda_handler(build_event("http-api-v2", "GET", "/"), None))
            assert (result.status, result.body) == (200, b"hello")
    assert not lambda_handler.lifespan_supported
    said = [r for r in caplog.records if "does not support the ASGI lifespan" in r.getMessage()]
    assert len(said) == 1
    lambda_handler.close()


def test_on_lifespan_stays_strict_for_such_an_app() -> None:
    from faasify import LifespanStartupError

    with pytest.raises(LifespanStartupError):
        handler(_no_lifespan_app(), lifespan="on", handle_signals=False)


def test_receive_after_a_failed_shutdown_waits_and_the_deadline_holds() -> None:
    """An app that keeps calling receive() after ``lifespan.shutdown.failed``
    used to spin until memory ran out; its shutdown now ends at the deadline."""
    script = textwrap.dedent(
        """
        import time
        from faasify import handler

        async def app(scope, receive, send):
            if scope["type"] != "lifespan":
                return
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.failed", "message": "no"})
            while True:
                await receive()

        h = handler(app, shutdown_timeout=0.5, handle_signals=False)
        started = time.monotonic()
        h.close()
        print("closed", time.monotonic() - started < 5)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.stdout.split() == ["closed", "True"], completed.stderr
    assert "lifespan shutdown failed: no" in completed.stderr
