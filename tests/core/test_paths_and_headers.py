"""The rules every front door shares: base paths and request headers."""

from __future__ import annotations

import pytest

from faasify import ConfigurationError, MalformedEventError
from faasify.core.headers import origin, request_headers
from faasify.core.paths import check_base_path, mount, split_root


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        ("/api", "/api", ("/api", "/")),
        ("/api/x", "/api", ("/api", "/x")),
        ("/apix", "/api", None),
        ("/x", "", None),
    ],
)
def test_split_root(path: str, prefix: str, expected: tuple[str, str] | None) -> None:
    assert split_root(path, prefix) == expected


def test_mount_moves_the_base_path_only_when_the_path_lies_under_it() -> None:
    assert mount("/dev", "/api/x", "/api") == ("/dev/api", "/x")
    assert mount("", "/other", "/api") == ("", "/other")


def test_mount_keeps_a_prefix_the_gateway_already_stripped() -> None:
    assert mount("", "/x", "/function/echo", stripped_upstream=True) == ("/function/echo", "/x")
    assert mount("", "/function/echo/x", "/function/echo", stripped_upstream=True) == (
        "/function/echo",
        "/x",
    )


@pytest.mark.parametrize("bad", ["api", "/api/", 3])
def test_a_base_path_that_cannot_work_is_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="base_path"):
        check_base_path(bad)  # type: ignore[arg-type]


def test_request_headers_follow_one_set_of_rules() -> None:
    pairs = [
        ("Host", "example.com"),
        ("Connection", "keep-alive"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "999"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
        ("X-Multi", "1"),
        ("X-Multi", "2"),
    ]
    assert request_headers(pairs, b"body") == [
        ("host", "example.com"),
        ("x-multi", "1"),
        ("x-multi", "2"),
        ("cookie", "a=1; b=2"),
        ("content-length", "4"),
    ]


@pytest.mark.parametrize("pair", [("x", 1), (2, "y"), ("x", "\udc80"), ("\udc80", "y")])
def test_a_header_that_is_not_text_is_malformed(pair: tuple[object, object]) -> None:
    with pytest.raises(MalformedEventError):
        request_headers([pair], b"")


def test_origin_prefers_forwarding_headers_to_the_platforms_defaults() -> None:
    assert origin([], "fn.example:8080", "http") == (("fn.example", 8080), "http")
    forwarded = [("host", "api.example.com"), ("x-forwarded-proto", "https")]
    assert origin(forwarded, "fn.example:8080", "http") == (("api.example.com", 443), "https")
