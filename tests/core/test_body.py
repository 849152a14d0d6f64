"""Bodies: decoded by the flag on the way in, text or base64 by media type on the way out."""

from __future__ import annotations

import base64

import pytest

from faasify import MalformedEventError
from faasify.adapters.aws.codecs._maps import (
    response_headers_single,
    set_cookie_variants,
    status_description,
)
from faasify.core.body import (
    TextTypes,
    content_headers,
    decode_event_body,
    encode_response_body,
)
from faasify.core.headers import origin


@pytest.mark.parametrize("body", [None, "", b""])
@pytest.mark.parametrize("flag", [True, False, None])
def test_absent_null_and_empty_bodies_are_empty(body: object, flag: object) -> None:
    assert decode_event_body(body, flag) == b""


def test_base64_flag_decides_not_the_content() -> None:
    looks_like_base64 = "aGVsbG8="
    assert decode_event_body(looks_like_base64, False) == b"aGVsbG8="
    assert decode_event_body(looks_like_base64, True) == b"hello"


@pytest.mark.parametrize("bad", ["not base64!", "abc", 123])
def test_bad_bodies_are_malformed_events_naming_the_body(bad: object) -> None:
    with pytest.raises(MalformedEventError, match="body") as caught:
        decode_event_body(bad, True)
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/problem+json", True),
        ("application/vnd.api+json; charset=utf-8", True),
        ("image/svg+xml", True),
        ("APPLICATION/JSON", True),
        ("image/png", False),
        ("application/octet-stream", False),
        ("application/pdf", False),
        ("", False),
    ],
)
def test_text_types(content_type: str, text: bool) -> None:
    assert TextTypes().is_text(content_type) is text


def _encode(headers: list[tuple[str, str]], body: bytes) -> tuple[str, bool]:
    content_type, content_encoding = content_headers(headers)
    return encode_response_body(body, content_type, content_encoding, TextTypes())


def test_text_body_goes_as_text() -> None:
    assert _encode([("Content-Type", "text/plain")], "héllo".encode()) == ("héllo", False)


def test_compressed_text_goes_as_base64() -> None:
    body = b"\x1f\x8b\x08\x00compressed"
    encoded, is_base64 = _encode(
        [("content-type", "application/json"), ("Content-Encoding", "gzip")], body
    )
    assert is_base64
    assert base64.b64decode(encoded) == body


def test_text_type_with_non_utf8_bytes_goes_as_base64() -> None:
    body = "café".encode("latin-1")
    encoded, is_base64 = _encode([("Content-Type", "text/plain; charset=latin-1")], body)
    assert is_base64
    assert base64.b64decode(encoded) == body


def test_empty_body_is_never_base64() -> None:
    assert _encode([("Content-Type", "image/png")], b"") == ("", False)


def test_set_cookie_variants_are_distinct_spellings_of_one_name() -> None:
    variants = set_cookie_variants(20)
    assert len(set(variants)) == 20
    assert {v.lower() for v in variants} == {"set-cookie"}
    assert variants[0] == "Set-Cookie"


def test_single_value_headers_join_repeats_but_not_cookies() -> None:
    joined = response_headers_single(
        [
            ("Vary", "Accept"),
            ("Vary", "Cookie"),
            ("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
            ("Set-Cookie", "b=2"),
        ]
    )
    assert joined["Vary"] == "Accept, Cookie"
    cookies = sorted(v for k, v in joined.items() if k.lower() == "set-cookie")
    assert cookies == ["a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "b=2"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("host", "api.example.com")], (("api.example.com", 443), "https")),
        (
            [("host", "example.com:8080"), ("x-forwarded-proto", "http")],
            (("example.com", 8080), "http"),
        ),
        (
            [("host", "h"), ("x-forwarded-port", "444"), ("x-forwarded-proto", "https")],
            (("h", 444), "https"),
        ),
        ([("host", "h"), ("x-forwarded-port", "bogus")], (("h", 443), "https")),
        ([], (("localhost", 443), "https")),
    ],
)
def test_origin_follows_forwarding_headers(
    headers: list[tuple[str, str]], expected: object
) -> None:
    assert origin(headers) == expected


def test_status_description() -> None:
    assert status_description(200) == "200 OK"
    assert status_description(418) == "418 I'm a Teapot"
    assert status_description(599) == "599"
