"""Google Cloud Functions: requests through the Functions Framework's own Flask app.

Each test writes a small function source to ``tmp_path`` that builds
``entry = faasify.adapters.gcf.handler(app)``, loads it with
``functions_framework.create_app`` (as ``functions-framework --target=entry``
does) and sends requests through that app's test client.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import sys
import threading
import types
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import functions_framework
import pytest

import faasify.adapters.gcf as gcf
from faasify import ConfigurationError
from tests.support.apps import BINARY, fastapi_app, flask_app, starlette_app

#: Apps handed to the generated function sources, by key.
APPS: dict[str, tuple[Any, dict[str, Any]]] = {}
_keys = itertools.count()

FRAMEWORKS = {"flask": flask_app, "fastapi": fastapi_app}

Client = Any  # flask.testing.FlaskClient


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
    """A raw ASGI app answering with what it was given, in JSON."""
    assert scope["type"] == "http"
    body = (await receive())["body"]
    payload = {
        "scheme": scope["scheme"],
        "server": list(scope["server"]),
        "client": scope["client"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "root_path": scope["root_path"],
        "body": len(body),
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Client]]:
    """``serve(app, **options)``: a test client of the framework serving ``app``."""
    # The framework sets these and extends sys.path; monkeypatch puts them back.
    monkeypatch.setenv("FUNCTION_TARGET", "entry")
    monkeypatch.setenv("FUNCTION_SIGNATURE_TYPE", "http")
    monkeypatch.setattr(sys, "path", list(sys.path))
    loaded: list[str] = []

    def make(app: Any, **options: Any) -> Client:
        key = f"faasify_gcf_main_{next(_keys)}"
        APPS[key] = (app, options)
        source = tmp_path / f"{key}.py"
        source.write_text(
            "import faasify.adapters.gcf\n"
            f"from {__name__} import APPS\n"
            f"app, options = APPS[{key!r}]\n"
            "entry = faasify.adapters.gcf.handler(app, **options)\n"
        )
        loaded.append(key)
        framework_app = functions_framework.create_app(  # type: ignore[no-untyped-call]
            target="entry", source=str(source)
        )
        client = framework_app.test_client()
        client.faasify_entry = sys.modules[key].entry
        return client

    yield make
    for key in loaded:
        module = sys.modules.pop(key, None)
        if module is not None:
            module.entry.close()
        APPS.pop(key, None)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_method_path_query_headers_and_cookies_reach_the_app(
    serve: Callable[..., Client], framework: str
) -> None:
    client = serve(FRAMEWORKS[framework]())
    client.set_cookie("c", "1")
    client.set_cookie("d", "2")
    response = client.put(
        "/echo/caf%C3%A9?a=1&a=2&b=x%20y",
        headers=[("X-Multi", "a"), ("X-Multi", "b")],
        # As gunicorn puts a header's UTF-8 bytes into the environ: as Latin-1.
        environ_overrides={"HTTP_X_TEXT": "héllo".encode().decode("latin-1")},
    )
    assert response.status_code == 200
    seen = response.get_json()
    assert seen["method"] == "PUT"
    assert seen["path"] == "/echo/café"
    assert seen["root_path"] == ""
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "x y"]]
    headers = seen["headers"]
    # A repeated header reaches a WSGI function as one comma-joined value.
    assert ["x-multi", "a, b"] in headers
    # Frameworks decode header bytes as Latin-1: the client's bytes arrive intact.
    assert dict(headers)["x-text"].encode("latin-1") == "héllo".encode()
    # The framework tags every request with an execution id; it passes through.
    assert any(name == "function-execution-id" for name, _ in headers)
    assert seen["cookies"] == {"c": "1", "d": "2"}
    assert seen["link"].replace("%20", " ") == "/echo/x y"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_binary_bodies_pass_unchanged_both_ways(
    serve: Callable[..., Client], framework: str
) -> None:
    client = serve(FRAMEWORKS[framework]())
    response = client.post("/echo/up", data=BINARY, content_type="application/octet-stream")
    assert base64.b64decode(response.get_json()["body"]) == BINARY
    response = client.get("/binary")
    assert response.status_code == 200
    assert response.data == BINARY
    assert response.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_set_cookie_header_reaches_the_client(
    serve: Callable[..., Client], framework: str
) -> None:
    response = serve(FRAMEWORKS[framework]()).get("/cookies")
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("a=1;")
    assert cookies[1].startswith("b=2;")
    assert "Expires=Wed, 21 Oct 2037 07:28:00 GMT" in cookies[1].replace("expires", "Expires")
    assert response.data == b"ok"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_app_exception_is_a_generic_500(
    serve: Callable[..., Client], framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve(FRAMEWORKS[framework]())
    with caplog.at_level(logging.ERROR):
        response = client.get("/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data
    assert b"Traceback" not in response.data
    # Not the framework's crash answer, which would carry the exception text.
    assert "X-Google-Status" not in response.headers
    assert "secret detail" in caplog.text  # logged, by faasify or by Flask itself


def test_raw_path_scheme_and_server_follow_the_request(serve: Callable[..., Client]) -> None:
    client = serve(scope_app)
    seen = json.loads(client.get("/a%2Fb/caf%C3%A9", base_url="http://localhost:8080").data)
    assert seen["path"] == "/a/b/café"
    assert seen["raw_path"] == "/a%2Fb/caf%C3%A9"
    # No X-Forwarded-Proto (functions-framework on a laptop): what the server saw.
    assert seen["scheme"] == "http"
    assert seen["server"] == ["localhost", 8080]
    assert seen["client"] == ["127.0.0.1", 0]
    seen = json.loads(client.get("/x", headers={"X-Forwarded-Proto": "https"}).data)
    assert seen["scheme"] == "https"
    assert seen["server"] == ["localhost", 443]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_base_path_moves_into_the_root_path(serve: Callable[..., Client], framework: str) -> None:
    client = serve(FRAMEWORKS[framework](), base_path="/api")
    seen = client.get("/api/echo/x").get_json()
    assert seen["path"] == "/echo/x"
    assert seen["root_path"] == "/api"
    assert seen["link"].replace("%20", " ") == "/api/echo/x y"
    # A path outside the base path reaches the app whole (and is its 404).
    assert client.get("/other/echo/x").status_code == 404


def test_lifespan_starts_with_the_first_request_and_runs_once(
    serve: Callable[..., Client],
) -> None:
    counter = Counter()
    client = serve(starlette_app(lifespan=counting_lifespan(counter)))
    # Imported (as the gunicorn master does, before forking): not started yet.
    assert counter.startups == 0
    for _ in range(50):
        assert client.get("/echo/x").status_code == 200
    assert counter.startups == 1
    assert counter.shutdowns == 0
    client.faasify_entry.close()
    client.faasify_entry.close()
    assert counter.shutdowns == 1


def test_concurrent_threads_share_one_started_asgi_app(serve: Callable[..., Client]) -> None:
    counter = Counter()
    client = serve(starlette_app(lifespan=counting_lifespan(counter)))
    app = client.application
    statuses: list[int] = []

    def worker() -> None:
        own = app.test_client()  # one client per thread, as gunicorn's threads
        statuses.extend(own.get(f"/echo/{n}").status_code for n in range(10))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 80
    assert counter.startups == 1


def test_a_failing_startup_answers_500_and_is_retried(
    serve: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database down")
        yield

    client = serve(starlette_app(lifespan=lifespan))
    with caplog.at_level(logging.ERROR):
        response = client.get("/echo/x")
    assert response.status_code == 500
    assert b"database down" not in response.data
    assert "the app failed to start" in caplog.text
    assert client.get("/echo/x").status_code == 200
    assert len(attempts) == 2


def test_malformed_input_is_a_400_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    entry = gcf.handler(flask_app())
    try:
        with caplog.at_level(logging.WARNING, logger="faasify.app"):
            response = entry(object())  # type: ignore[arg-type]
        assert isinstance(response, flask.Response)
        assert response.status_code == 400
        assert "malformed event" in caplog.text
    finally:
        entry.close()


def test_the_entry_point_is_a_plain_function_and_options_fail_at_import() -> None:
    entry = gcf.handler(flask_app())
    assert isinstance(entry, types.FunctionType)  # the framework requires one
    entry.close()
    with pytest.raises(ConfigurationError):
        gcf.handler(flask_app(), base_path="api/")
    with pytest.raises(ConfigurationError):
        gcf.handler(object())
    with pytest.raises(ConfigurationError):
        gcf.handler(flask_app(), lifespan="sometimes")
