"""The same small "echo" app in Flask, Django, Starlette and FastAPI.

Each answers ``/echo/<rest>`` with JSON describing what the framework saw
(method, route path, root path, query, headers, cookies, body, a link built
by the framework's URL builder), ``/cookies`` with two Set-Cookie headers,
``/binary`` with bytes that are not UTF-8 and ``/boom`` by raising. Tests
compare what went into an event with what the framework reports, across
every event source.
"""

import base64
from typing import Any

BINARY = bytes(range(256))


def _describe(
    method: str,
    path: str,
    root: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    cookies: dict[str, str],
    body: bytes,
    link: str,
) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "root_path": root,
        "query": [list(pair) for pair in query],
        "headers": [[k.lower(), v] for k, v in headers],
        "cookies": cookies,
        "body": base64.b64encode(body).decode(),
        "link": link,
    }


def flask_app() -> Any:
    from flask import Flask, Response, jsonify, request, url_for

    app = Flask("echo")

    @app.route("/echo/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    def echo(rest: str) -> Any:
        return jsonify(
            _describe(
                request.method,
                request.path,
                request.script_root,
                list(request.args.items(multi=True)),
                list(request.headers.items()),
                dict(request.cookies),
                request.get_data(),
                url_for("echo", rest="x y"),
            )
        )

    @app.route("/cookies")
    def cookies() -> Any:
        response = Response("ok", content_type="text/plain")
        response.set_cookie("a", "1", path="/")
        response.set_cookie("b", "2", expires="Wed, 21 Oct 2037 07:28:00 GMT")
        return response

    @app.route("/binary")
    def binary() -> Any:
        return Response(BINARY, content_type="application/octet-stream")

    @app.route("/boom")
    def boom() -> Any:
        raise RuntimeError("secret detail")

    return app


def starlette_app(lifespan: Any = None) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            _describe(
                request.method,
                request.url.path[len(request.scope.get("root_path", "")) :],
                request.scope.get("root_path", ""),
                list(request.query_params.multi_items()),
                list(request.headers.items()),
                dict(request.cookies),
                body,
                request.url_for("echo", rest="x y").path,
            )
        )

    async def cookies(request: Request) -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("a", "1", path="/")
        response.set_cookie("b", "2", expires="Wed, 21 Oct 2037 07:28:00 GMT")
        return response

    async def binary(request: Request) -> Response:
        return Response(BINARY, media_type="application/octet-stream")

    async def boom(request: Request) -> Response:
        raise RuntimeError("secret detail")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/echo/{rest:path}", echo, name="echo", methods=methods),
            Route("/cookies", cookies),
            Route("/binary", binary),
            Route("/boom", boom),
        ],
        lifespan=lifespan,
    )


def fastapi_app() -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, PlainTextResponse, Response

    app = FastAPI()

    @app.api_route(
        "/echo/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        name="echo",
    )
    async def echo(rest: str, request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            _describe(
                request.method,
                request.url.path[len(request.scope.get("root_path", "")) :],
                request.scope.get("root_path", ""),
                list(request.query_params.multi_items()),
                list(request.headers.items()),
                dict(request.cookies),
                body,
                request.url_for("echo", rest="x y").path,
            )
        )

    @app.get("/cookies")
    async def cookies() -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("a", "1", path="/")
        response.set_cookie("b", "2", expires="Wed, 21 Oct 2037 07:28:00 GMT")
        return response

    @app.get("/binary")
    async def binary() -> Response:
        return Response(BINARY, media_type="application/octet-stream")

    @app.get("/boom")
    async def boom() -> Response:
        raise RuntimeError("secret detail")

    return app


def django_app() -> Any:
    """Django's WSGI handler with the echo view, configured in-process."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["*"],
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            USE_TZ=True,
        )
        django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


def _django_echo(request: Any, rest: str) -> Any:
    from django.http import JsonResponse
    from django.urls import reverse

    return JsonResponse(
        _describe(
            request.method,
            request.path_info,
            request.META.get("SCRIPT_NAME", ""),
            [(k, v) for k in request.GET for v in request.GET.getlist(k)],
            [(k, v) for k, v in request.headers.items()],
            dict(request.COOKIES),
            request.body,
            reverse("echo", kwargs={"rest": "x y"}),
        )
    )


def _django_urlpatterns() -> list[Any]:
    try:
        from django.urls import path
    except ImportError:  # pragma: no cover - django is a dev dependency
        return []
    from django.views.decorators.csrf import csrf_exempt

    return [path("echo/<path:rest>", csrf_exempt(_django_echo), name="echo")]


urlpatterns = _django_urlpatterns()

FRAMEWORKS = {
    "flask": flask_app,
    "django": django_app,
    "starlette": starlette_app,
    "fastapi": fastapi_app,
}
