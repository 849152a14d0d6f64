"""faasify.compat: mangum's and apig-wsgi's constructors, mapped onto faasify's handler.

Driven with the fixture events under tests/events/. Where the peer's own
package is installed, the same event goes through the peer too and the two
answers are compared, so "drop-in" is checked, not assumed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import warnings
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from faasify.compat import Mangum, make_lambda_handler
from faasify.local.events import read_result
from tests.conftest import load_event
from tests.support.apps import BINARY, flask_app, starlette_app


def _custom_domain(event: dict[str, Any], path: str) -> dict[str, Any]:
    """A REST API event as a custom domain with a base-path mapping delivers it."""
    event["path"] = path
    event["requestContext"]["path"] = path
    return event


def _at(event: dict[str, Any], path: str) -> dict[str, Any]:
    """``event`` asking for ``path`` instead (every shape's path fields)."""
    for key in ("path", "rawPath"):
        if key in event:
            event[key] = path
    if "http" in event.get("requestContext", {}):
        event["requestContext"]["http"]["path"] = path
    return event


def _media_app(content_type: str, body: bytes) -> Any:
    """A WSGI app answering every request with ``body`` as ``content_type``."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", content_type), ("X-Powered-By", "x")])
        return [body]

    return app


def _seen(body: bytes) -> dict[str, Any]:
    """What the echo app saw that two adapters must agree on (not the root path)."""
    seen = json.loads(body)
    return {k: seen[k] for k in ("method", "path", "query", "cookies", "body")}


# -- Mangum ---------------------------------------------------------------------------


def test_mangum_lifespan_runs_once_per_instance_not_per_invoke() -> None:
    calls: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        calls.append("startup")
        yield {}
        calls.append("shutdown")

    h = Mangum(starlette_app(lifespan=lifespan), lifespan="auto", handle_signals=False)
    for _ in range(3):
        assert read_result(h(load_event("http-api-v2"), None)).status == 404
    assert calls == ["startup"]
    h.close()
    assert calls == ["startup", "shutdown"]


def test_mangum_lifespan_off_never_starts_the_app() -> None:
    calls: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        calls.append("startup")
        yield

    h = Mangum(starlette_app(lifespan=lifespan), lifespan="off", handle_signals=False)
    h(load_event("http-api-v2"), None)
    h.close()
    assert calls == []


def test_mangum_rejects_an_unknown_lifespan_mode() -> None:
    with pytest.raises(ValueError, match="lifespan"):
        Mangum(starlette_app(), lifespan="sometimes", handle_signals=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("base", ["api", "/api", "/api/"])
def test_mangum_api_gateway_base_path_moves_into_the_root_path(base: str) -> None:
    h = Mangum(starlette_app(), api_gateway_base_path=base, handle_signals=False)
    event = _custom_domain(load_event("rest-v1-post-base64"), "/api/echo/upload")
    result = read_result(h(event, None))
    seen = json.loads(result.body)
    assert result.status == 200
    assert seen["path"] == "/echo/upload"
    assert seen["root_path"] == "/api"
    assert seen["link"].startswith("/api/echo/")  # links keep the prefix


def test_mangum_default_base_path_is_none() -> None:
    h = Mangum(starlette_app(), handle_signals=False)
    event = _custom_domain(load_event("rest-v1-post-base64"), "/echo/upload")
    seen = json.loads(read_result(h(event, None)).body)
    assert (seen["path"], seen["root_path"]) == ("/echo/upload", "")


def test_mangum_text_mime_types_send_that_type_as_text() -> None:
    from a2wsgi import WSGIMiddleware

    body = b'{"openapi": "3.1.0"}'
    app = WSGIMiddleware(_media_app("application/vnd.oai.openapi", body))
    plain = Mangum(app, handle_signals=False)(load_event("http-api-v2"), None)
    assert plain["isBase64Encoded"] is True
    h = Mangum(app, text_mime_types=["application/vnd.oai.openapi"], handle_signals=False)
    result = h(load_event("http-api-v2"), None)
    assert result["isBase64Encoded"] is False
    assert result["body"] == body.decode()


def test_mangum_text_mime_types_refuse_a_prefix_they_cannot_express() -> None:
    with pytest.raises(ValueError, match="prefix"):
        Mangum(starlette_app(), text_mime_types=["application/"], handle_signals=False)
    # text/ is a prefix faasify covers already: accepted
    Mangum(starlette_app(), text_mime_types=["text/"], handle_signals=False).close()


@pytest.mark.parametrize(
    ("value", "longer"),
    [
        ("application/vnd", "application/vnd.ms-excel"),  # a registration tree alone
        ("application/x", "application/x-bcpio"),
        ("application/vnd.ms", "application/vnd.ms-excel"),  # cut before a '-'
    ],
)
def test_a_media_type_cut_short_warns_that_longer_types_are_not_matched(
    value: str, longer: str
) -> None:
    with pytest.warns(UserWarning, match="looks cut short") as record:
        h = Mangum(starlette_app(), text_mime_types=[value], handle_signals=False)
    h.close()
    assert longer in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller's line
    with pytest.warns(UserWarning, match=f"exactly '{value}' only"):
        make_lambda_handler(
            flask_app(), non_binary_content_type_prefixes=[value], handle_signals=False
        )


@pytest.mark.parametrize(
    "value",
    [
        "application/vnd.oai.openapi",  # not a known type, but nothing known continues it
        "application/csv",
        "application/json",
        "application/x-troff",  # a known type, though others continue it
        "image/svg",  # only image/svg+xml continues it, and that is text already
        "font/woff",  # font/woff2 continues it, but not after '.', '+' or '-'
        "text/htm",  # every text/* is text already
    ],
)
def test_whole_media_types_are_taken_exactly_without_a_warning(value: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = Mangum(starlette_app(), text_mime_types=[value], handle_signals=False)
    h.close()


@pytest.mark.parametrize("fixture", ["rest-v1", "http-api-v2", "alb-multi-value", "alb"])
def test_mangum_exclude_headers_removes_them_from_every_response_shape(fixture: str) -> None:
    h = Mangum(
        starlette_app(), exclude_headers=["Content-Length", "set-cookie"], handle_signals=False
    )
    result = h(_at(load_event(fixture), "/cookies"), None)
    names = {
        k.lower() for k in {**result.get("headers", {}), **result.get("multiValueHeaders", {})}
    }
    assert "content-length" not in names
    assert "set-cookie" not in names
    assert "cookies" not in result
    assert "content-type" in names
    assert read_result(result).body == b"ok"


def test_mangum_custom_handlers_have_no_equivalent() -> None:
    with pytest.raises(TypeError, match="custom_handlers"):
        Mangum(starlette_app(), custom_handlers=[object], handle_signals=False)


@pytest.mark.parametrize("fixture", ["http-api-v2", "rest-v1", "alb"])
def test_mangum_answers_as_mangum_does(fixture: str) -> None:
    """Same app, same event: status, body and content type agree with mangum's own."""
    mangum = pytest.importorskip("mangum")
    app = starlette_app()
    ours = read_result(
        Mangum(app, lifespan="off", handle_signals=False)(_at(load_event(fixture), "/echo/a"), None)
    )
    theirs = read_result(
        mangum.Mangum(app, lifespan="off")(_at(load_event(fixture), "/echo/a"), None)
    )
    assert ours.status == theirs.status == 200
    assert ours.header("content-type") == theirs.header("content-type")
    assert _seen(ours.body) == _seen(theirs.body)


# -- make_lambda_handler (apig-wsgi) ----------------------------------------------------


@pytest.mark.parametrize("fixture", ["rest-v1", "http-api-v2", "alb"])
def test_apig_wsgi_binary_bodies_go_as_base64(fixture: str) -> None:
    h = make_lambda_handler(flask_app(), binary_support=True, handle_signals=False)
    result = h(_at(load_event(fixture), "/binary"), None)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == BINARY


def test_apig_wsgi_binary_support_false_warns_and_text_stays_text() -> None:
    with pytest.warns(UserWarning, match="binary_support=False"):
        h = make_lambda_handler(flask_app(), binary_support=False, handle_signals=False)
    result = h(_at(load_event("rest-v1"), "/echo/x"), None)
    assert result["isBase64Encoded"] is False
    assert json.loads(result["body"])["path"] == "/echo/x"


def test_apig_wsgi_non_binary_prefixes_map_to_text_types() -> None:
    body = "id,name\n1,café\n".encode()
    app = _media_app("application/csv; charset=utf-8", body)
    plain = make_lambda_handler(app, handle_signals=False)(load_event("http-api-v2"), None)
    assert plain["isBase64Encoded"] is True
    h = make_lambda_handler(
        app, non_binary_content_type_prefixes=["text/", "application/csv"], handle_signals=False
    )
    result = h(load_event("http-api-v2"), None)
    assert result["isBase64Encoded"] is False
    assert result["body"] == body.decode()
    with pytest.raises(ValueError, match="prefix"):
        make_lambda_handler(app, non_binary_content_type_prefixes=["application/vnd."])


def test_apig_wsgi_environ_keys_are_there() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    event = load_event("rest-v1")
    context = object()
    h = make_lambda_handler(app, handle_signals=False)
    assert h.app is app  # the user's app, as with faasify.handler, not the key wrapper
    h(event, context)
    assert seen["apig_wsgi.full_event"] is event
    assert seen["apig_wsgi.context"] is context
    assert seen["apig_wsgi.request_context"] is event["requestContext"]
    assert seen["faasify.event"] is event


@pytest.mark.parametrize("fixture", ["rest-v1", "http-api-v2", "alb-multi-value"])
def test_apig_wsgi_answers_as_apig_wsgi_does(fixture: str) -> None:
    """Same app, same event: status, body and content type agree with apig-wsgi's own."""
    apig_wsgi = pytest.importorskip("apig_wsgi")
    app = flask_app()
    ours = read_result(
        make_lambda_handler(app, handle_signals=False)(_at(load_event(fixture), "/echo/a"), None)
    )
    theirs = read_result(
        apig_wsgi.make_lambda_handler(app)(_at(load_event(fixture), "/echo/a"), None)
    )
    assert ours.status == theirs.status == 200
    assert ours.header("content-type") == theirs.header("content-type")
    ours_seen, theirs_seen = _seen(ours.body), _seen(theirs.body)
    if fixture == "alb-multi-value":
        # Two Cookie lines: apig-wsgi joins them with "," (one cookie with a comma in
        # its value); faasify folds them with "; " and the app sees both cookies.
        assert ours_seen.pop("cookies") == {"session_id": "alb-c00k1e", "theme": "light"}
        theirs_seen.pop("cookies")
    assert ours_seen == theirs_seen
    binary = make_lambda_handler(app, handle_signals=False)(
        _at(load_event(fixture), "/binary"), None
    )
    assert read_result(binary).body == BINARY
