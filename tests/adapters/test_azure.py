"""Azure Functions: ``func.HttpRequest`` in, ``func.HttpResponse`` out.

Requests are built as the SDK documents for unit tests (``func.HttpRequest``
with a full URL, lower-case headers and a bytes body, the shape the worker
builds from the host's message), and responses are also run through the SDK's
own converter, which is what the worker sends back to the host.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import logging
import threading
import typing
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import pytest
from azure.functions.http import HttpResponseConverter

import faasify.adapters.azure as azure
from faasify import ConfigurationError
from tests.support.apps import BINARY, fastapi_app, flask_app, starlette_app

FRAMEWORKS = {"flask": flask_app, "fastapi": fastapi_app}
HOST = "myapp.azurewebsites.net"


def http_request(
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str = HOST,
) -> Any:
    """A request as the worker builds it: the host's URL, lower-case headers
    (a repeated one already comma-joined), one value per query name, bytes."""
    url = f"https://{host}{path}"
    all_headers = {"host": host, **{k.lower(): v for k, v in (headers or {}).items()}}
    return func.HttpRequest(
        method=method,
        url=url,
        headers=all_headers,
        params=dict(parse_qsl(urlsplit(url).query)),
        route_params={"route": urlsplit(url).path.removeprefix("/api/")},
        body=body,
    )


class Counter:
    def __init__(self) -> None:
        self.startups = 0
        self.shutdowns = 0


def counting_lifespan(counter: Counter) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        counter.startups += 1
        yield
        counter.shutdowns += 1

    return lifespan


async def scope_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app answering with what it was given, and a repeated header."""
    assert scope["type"] == "http"
    await receive()
    context = scope["aws.context"]
    local = getattr(context, "thread_local_storage", None)
    payload = {
        "scheme": scope["scheme"],
        "server": list(scope["server"]),
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "root_path": scope["root_path"],
        "query": scope["query_string"].decode(),
        "invocation_id": getattr(context, "invocation_id", None),
        "thread_invocation_id": getattr(local, "invocation_id", None),
        "event_is_request": isinstance(scope["aws.event"], func.HttpRequest),
    }
    headers = [(b"content-type", b"application/json"), (b"vary", b"accept"), (b"vary", b"cookie")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


class FakeContext:
    """What the worker passes as ``context``: the fields faasify reads."""

    def __init__(self, invocation_id: str) -> None:
        self.invocation_id = invocation_id
        self.thread_local_storage = threading.local()


@pytest.fixture
def serve() -> Any:
    """``serve(app, **options)``: the entry point for ``app``, closed after the test."""
    built: list[Any] = []

    def make(app: Any, *, use_async: bool = False, **options: Any) -> Any:
        factory = azure.async_handler if use_async else azure.handler
        main = factory(app, **options)
        built.append(main)
        return main

    yield make
    for main in built:
        main.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_method_path_query_headers_and_cookies_reach_the_app(serve: Any, framework: str) -> None:
    main = serve(FRAMEWORKS[framework]())
    request = http_request(
        "PATCH",
        "/api/echo/caf%C3%A9?a=1&a=2&b=x%20y",
        headers={"x-multi": "a,b", "cookie": "c=1; d=2", "x-text": "héllo"},
    )
    response = main(request)
    assert response.status_code == 200
    seen = json.loads(response.get_body())
    assert seen["method"] == "PATCH"
    assert seen["path"] == "/echo/café"
    assert seen["root_path"] == "/api"
    # Repeated query names survive: the query comes from the URL, not params.
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "x y"]]
    headers = dict(seen["headers"])
    assert headers["x-multi"] == "a,b"
    assert headers["x-text"].encode("latin-1") == "héllo".encode()
    assert headers["host"] == HOST
    assert seen["cookies"] == {"c": "1", "d": "2"}
    assert seen["link"].replace("%20", " ") == "/api/echo/x y"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_binary_bodies_pass_unchanged_both_ways(serve: Any, framework: str) -> None:
    main = serve(FRAMEWORKS[framework]())
    request = http_request(
        "POST", "/api/echo/up", {"content-type": "application/octet-stream"}, BINARY
    )
    assert base64.b64decode(json.loads(main(request).get_body())["body"]) == BINARY
    response = main(http_request("GET", "/api/binary"))
    assert response.get_body() == BINARY
    assert response.headers["Content-Type"] == "application/octet-stream"
    datum = HttpResponseConverter.encode(response, expected_type=None)
    assert datum.value["body"].value == BINARY


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_set_cookie_reaches_the_worker_as_a_cookie(serve: Any, framework: str) -> None:
    response = serve(FRAMEWORKS[framework]())(http_request("GET", "/api/cookies"))
    assert response.get_body() == b"ok"
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split(";")[0] for c in cookies] == ["a=1", "b=2"]
    # The SDK's converter turns each Set-Cookie into a cookie for the host.
    datum = HttpResponseConverter.encode(response, expected_type=None)
    sent = datum.value["cookies"]
    assert [next(iter(cookie)) for cookie in sent] == ["a", "b"]
    assert sent[1]["b"]["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    assert sent[0]["a"]["path"] == "/"


def test_cookies_the_sdk_would_misread_are_trimmed_or_left_out(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def cookie_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return  # no lifespan support
        cookies = [
            b"a=1; Path=/; Secure; Partitioned",  # SimpleCookie drops it whole
            b"b=2; Priority=High; Path=/x",  # read as a second cookie, "Priority"
            b"c=x y; Path=/",  # not parseable: dropped by the SDK
            b"d@e=1; Path=/",  # SimpleCookie raises: the invocation would fail
        ]
        headers = [(b"set-cookie", cookie) for cookie in cookies]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        response = serve(cookie_app)(http_request("GET", "/api/x"))
    datum = HttpResponseConverter.encode(response, expected_type=None)
    sent = {name: morsel for cookie in datum.value["cookies"] for name, morsel in cookie.items()}
    assert sorted(sent) == ["a", "b"]
    assert sent["a"]["secure"] is True
    assert sent["a"]["path"] == "/"
    assert sent["b"]["path"] == "/x"
    assert "'partitioned'" in caplog.text
    assert "'priority'" in caplog.text
    assert "'c=x y'" in caplog.text
    assert "'d@e=1'" in caplog.text


def test_repeated_headers_other_than_set_cookie_are_joined(serve: Any) -> None:
    response = serve(scope_app)(http_request("GET", "/api/x"))
    assert response.status_code == 201
    assert response.headers.getlist("Vary") == ["accept, cookie"]
    datum = HttpResponseConverter.encode(response, expected_type=None)
    assert {k.lower(): v.value for k, v in datum.value["headers"].items()}["vary"] == (
        "accept, cookie"
    )


def test_raw_path_scheme_server_and_context_reach_an_asgi_app(serve: Any) -> None:
    main = serve(scope_app)
    seen = json.loads(
        main(
            func.HttpRequest("GET", "http://localhost:7071/api/a%2Fb?q=%20", headers={}, body=b""),
            FakeContext("inv-1"),
        ).get_body()
    )
    assert seen["path"] == "/api/a/b"
    assert seen["raw_path"] == "/api/a%2Fb"
    assert seen["root_path"] == "/api"
    assert seen["query"] == "q=%20"
    # No Host or X-Forwarded-Proto (func start, unit tests): from the URL.
    assert seen["scheme"] == "http"
    assert seen["server"] == ["localhost", 7071]
    assert seen["invocation_id"] == "inv-1"
    assert seen["event_is_request"] is True
    seen = json.loads(
        main(http_request("GET", "/api/x", {"x-forwarded-proto": "https"})).get_body()
    )
    assert seen["scheme"] == "https"
    assert seen["server"] == [HOST, 443]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_app_exception_is_a_generic_500(
    serve: Any, framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    main = serve(FRAMEWORKS[framework]())
    with caplog.at_level(logging.ERROR):
        response = main(http_request("GET", "/api/boom"))
    assert response.status_code == 500
    assert b"secret detail" not in response.get_body()
    assert b"Traceback" not in response.get_body()
    assert "secret detail" in caplog.text  # logged, by faasify or by Flask itself


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_base_path_follows_the_route_prefix(serve: Any, framework: str) -> None:
    default = serve(FRAMEWORKS[framework]())
    assert default(http_request("GET", "/other/echo/x")).status_code == 404  # reaches it whole
    bare = serve(FRAMEWORKS[framework](), base_path="")  # routePrefix: ""
    seen = json.loads(bare(http_request("GET", "/echo/x")).get_body())
    assert seen["path"] == "/echo/x"
    assert seen["root_path"] == ""
    named = serve(FRAMEWORKS[framework](), base_path="/api/MyFunction")  # default route
    seen = json.loads(named(http_request("GET", "/api/MyFunction/echo/x")).get_body())
    assert seen["path"] == "/echo/x"
    assert seen["root_path"] == "/api/MyFunction"


def test_lifespan_runs_once_even_when_imported_inside_the_workers_loop(serve: Any) -> None:
    counter = Counter()

    async def import_function_module() -> Any:
        # The worker imports function modules from a coroutine on its loop.
        return serve(starlette_app(lifespan=counting_lifespan(counter)))

    main = asyncio.run(import_function_module())
    assert counter.startups == 1
    for _ in range(50):
        assert main(http_request("GET", "/api/echo/x")).status_code == 200
    assert counter.startups == 1
    main.close()
    main.close()
    assert counter.shutdowns == 1


def test_async_entry_point_runs_the_app_off_the_workers_loop(serve: Any) -> None:
    counter = Counter()
    main = serve(starlette_app(lifespan=counting_lifespan(counter)), use_async=True)
    assert inspect.iscoroutinefunction(main)

    async def invocations() -> list[int]:
        requests = [main(http_request("GET", f"/api/echo/{n}")) for n in range(20)]
        return [response.status_code for response in await asyncio.gather(*requests)]

    assert asyncio.run(invocations()) == [200] * 20
    assert counter.startups == 1
    tagged = serve(scope_app, use_async=True)
    response = asyncio.run(tagged(http_request("GET", "/api/x"), FakeContext("inv-2")))
    # On faasify's thread, the invocation id is set for log correlation.
    assert json.loads(response.get_body())["thread_invocation_id"] == "inv-2"


def test_concurrent_worker_threads_share_one_started_asgi_app(serve: Any) -> None:
    counter = Counter()
    main = serve(starlette_app(lifespan=counting_lifespan(counter)))
    statuses: list[int] = []

    def worker() -> None:
        statuses.extend(main(http_request("GET", f"/api/echo/{n}")).status_code for n in range(10))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 80
    assert counter.startups == 1


def test_malformed_input_is_a_400_and_a_log_line(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    main = serve(flask_app())
    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        no_url: Any = None
        response = main(func.HttpRequest("GET", no_url, body=b""))
    assert response.status_code == 400
    assert "malformed event" in caplog.text
    assert main(object()).status_code == 400


def test_the_entry_point_matches_what_the_worker_checks(serve: Any) -> None:
    for main in (serve(flask_app()), serve(flask_app(), use_async=True)):
        # The worker resolves annotations with typing.get_type_hints and
        # matches parameter names with bindings ("req"; "context" is optional).
        assert list(inspect.signature(main).parameters) == ["req", "context"]
        hints = typing.get_type_hints(main)
        assert hints == {
            "req": func.HttpRequest,
            "context": func.Context,
            "return": func.HttpResponse,
        }
    with pytest.raises(ConfigurationError):
        azure.handler(flask_app(), base_path="api")
    with pytest.raises(ConfigurationError):
        azure.handler(object())
