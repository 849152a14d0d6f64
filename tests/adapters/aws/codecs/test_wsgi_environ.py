"""The direct WSGI environs: the general path's environ to the key, or a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from faasify import wsgi
from faasify.adapters.aws.codecs import AwsCodecs, CodecOptions
from faasify.adapters.aws.events import build_event, read_result
from faasify.adapters.aws.shapes import Shape
from faasify.core.body import TextTypes
from faasify.core.runners.wsgi import build_environ

SHAPES: tuple[Shape, ...] = (
    "http-api-v2",
    "function-url",
    "http-api-v1",
    "rest-v1",
    "alb",
    "alb-multi-value",
)
HEADERS = (
    ("host", "api.example.com"),
    ("accept", "application/json"),
    ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
    ("x-forwarded-proto", "https"),
    ("content-type", "application/json"),
    ("content-length", "2"),
    ("x_dropped", "1"),
    ("cookie", "a=1; b=2"),
)


def _both(codecs: AwsCodecs, event: dict[str, Any]) -> tuple[Any, Any]:
    codec = codecs.detect(event)
    assert codec is not None
    direct = codec.wsgi_environ()(event, "context")  # type: ignore[attr-defined]
    general = build_environ(codec.decode(event, "context"))
    return direct, general


def _comparable(environ: dict[str, Any]) -> list[tuple[str, Any]]:
    """The environ's items in order, the input stream by its content."""
    items = dict(environ)
    items["wsgi.input"] = items["wsgi.input"].getvalue()
    return list(items.items())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("base_path", ["", "/api"])
@pytest.mark.parametrize("stage", ["$default", "prod"])
def test_the_direct_environ_is_the_general_one(shape: Shape, base_path: str, stage: str) -> None:
    codecs = AwsCodecs(CodecOptions(TextTypes(), base_path))
    event = build_event(shape, "POST", "/api/items/42", "x=1&y=a%20b", HEADERS, b"{}", stage=stage)
    direct, general = _both(codecs, event)
    assert direct is not None
    assert _comparable(direct) == _comparable(general)


def _with(shape: Shape, change: str) -> dict[str, Any]:
    event = build_event(shape, "GET", "/items", "", HEADERS)
    single: dict[str, Any] = event.get("headers") or {}
    multi: dict[str, Any] = event.get("multiValueHeaders") or {}
    if change == "non-ascii value":
        if multi:
            multi["accept"] = ["café"]
        else:
            single["accept"] = "café"
    elif change == "names that meet":
        if multi:
            multi["Host"] = ["other.example.com"]
        else:
            single["Host"] = "other.example.com"
    elif change == "several values":
        multi["accept"] = ["a", "b"]
    elif change == "malformed":
        event.pop("path", None)
        event.pop("rawPath", None)
        event.pop("requestContext", None)
    return event


@pytest.mark.parametrize(
    ("shape", "change"),
    [
        ("http-api-v2", "non-ascii value"),
        ("rest-v1", "non-ascii value"),
        ("alb", "non-ascii value"),
        ("rest-v1", "names that meet"),
        ("alb", "names that meet"),
        ("rest-v1", "several values"),
        ("alb-multi-value", "several values"),
        ("http-api-v2", "malformed"),
        ("rest-v1", "malformed"),
    ],
)
def test_anything_unusual_is_left_to_the_general_path(shape: Shape, change: str) -> None:
    event = _with(shape, change)
    codecs = AwsCodecs(CodecOptions(TextTypes()))
    codec = {"http-api-v2": codecs.http_api_v2, "rest-v1": codecs.rest}.get(shape)
    codec = codec or (codecs.alb_multi_value if shape == "alb-multi-value" else codecs.alb)
    assert codec.wsgi_environ()(event, None) is None  # type: ignore[attr-defined]


def test_a_declined_event_gets_the_general_paths_answer() -> None:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["HTTP_ACCEPT"].encode("latin-1")]

    handler = wsgi(app, handle_signals=False)
    try:
        plain = read_result(handler(_with("rest-v1", "plain"), None))
        unusual = read_result(handler(_with("rest-v1", "non-ascii value"), None))
    finally:
        handler.close()
    assert (plain.status, plain.body) == (200, b"application/json")
    # The general path's Latin-1 form of the UTF-8 bytes, as PEP 3333 has it.
    assert (unusual.status, unusual.body) == (200, "café".encode())
    assert seen[1]["HTTP_ACCEPT"] == "café".encode().decode("latin-1")
