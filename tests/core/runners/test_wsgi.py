"""The WSGI runner: a PEP 3333 environ to the byte, the app called directly."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from faasify import IncompleteResponseError, InvalidRequestError
from faasify.core import Request
from faasify.core.runners.wsgi import WSGIRunner, build_environ


def _request(**overrides: Any) -> Request:
    fields: dict[str, Any] = {
        "method": "POST",
        "path": "/café",
        "query_string": b"q=caf%C3%A9",
        "headers": [("host", "example.com"), ("content-type", "text/plain")],
        "body": b"hello",
        "root_path": "/stage",
        "server": ("example.com", 443),
    }
    fields.update(overrides)
    return Request(**fields)


def test_paths_are_utf8_bytes_decoded_as_latin1() -> None:
    environ = build_environ(_request())
    assert environ["PATH_INFO"] == "/café".encode().decode("latin-1")
    assert environ["SCRIPT_NAME"] == "/stage"
    assert environ["QUERY_STRING"] == "q=caf%C3%A9"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "5"
    assert environ["wsgi.input"].read() == b"hello"
    assert environ["wsgi.errors"] is sys.stderr


def test_repeated_headers_fold_and_cookies_fold_with_semicolons() -> None:
    headers = [("x-a", "1"), ("x-a", "2"), ("cookie", "a=1"), ("cookie", "b=2")]
    environ = build_environ(_request(headers=headers))
    assert environ["HTTP_X_A"] == "1,2"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"


def test_header_names_with_underscores_never_reach_the_app() -> None:
    environ = build_environ(_request(headers=[("x_forwarded_for", "1.2.3.4")]))
    assert "HTTP_X_FORWARDED_FOR" not in environ


@pytest.mark.parametrize(
    "overrides",
    [{"headers": [("x", 1)]}, {"headers": [("x", "\udc80")]}, {"path": "/\udc80"}],
)
def test_a_request_that_is_not_text_is_refused_before_the_app(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        build_environ(_request(**overrides))


def test_a_later_start_response_with_exc_info_replaces_the_first() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("X-First", "1")])
        start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"err"]

    response = WSGIRunner(app).run(_request())
    assert (response.status, response.headers, response.body) == (500, [], b"err")


def test_write_callable_output_comes_first_and_close_is_called() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Any:
            return iter([b"b"])

        def close(self) -> None:
            closed.append(True)

    def app(environ: Any, start_response: Any) -> Body:
        write = start_response("200 OK", [])
        write(b"a")
        return Body()

    assert WSGIRunner(app).run(_request()).body == b"ab"
    assert closed == [True]


def test_an_app_that_never_starts_a_response_is_incomplete() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        return [b"no status"]

    with pytest.raises(IncompleteResponseError):
        WSGIRunner(app).run(_request())
