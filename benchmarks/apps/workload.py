"""The two requests every candidate serves, as Lambda events and as bare app input.

Each request is described once (method, path, query, headers, body) and turned
into both an HTTP API v2 event, for the adapters, and a hand-built ASGI scope
and WSGI environ, for the floor. Deriving both from the same description is
what makes the floor comparable: the app sees the same method, path, query and
headers whichever way the request reaches it. Everything here is built once,
at import, so no candidate pays for building its input inside the timed loop.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from benchmarks.apps.frameworks import GET_RESPONSE, PAYLOAD
from faasify.adapters.aws.events import build_event

__all__ = ["HOST", "SOURCE_IP", "WORKLOADS", "Workload", "asgi_scope", "wsgi_environ"]

HOST = "api.example.com"
SOURCE_IP = "203.0.113.7"

# What a browser-ish client behind API Gateway typically sends; ``host`` is
# given explicitly so the event and the floor agree on it.
_COMMON_HEADERS: tuple[tuple[str, str], ...] = (
    ("host", HOST),
    ("accept", "application/json, text/plain, */*"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-language", "en-GB,en;q=0.9,pt;q=0.8"),
    ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari"),
    ("x-amzn-trace-id", "Root=1-66a0b1c2-0123456789abcdef01234567"),
    ("x-forwarded-for", SOURCE_IP),
    ("x-forwarded-port", "443"),
    ("x-forwarded-proto", "https"),
)


@dataclass(frozen=True)
class Workload:
    """One request, its event, and the JSON the app must answer with."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expected: Any
    event: dict[str, Any]


def _workload(method: str, path: str, query: str, body: bytes, expected: Any) -> Workload:
    headers = _COMMON_HEADERS
    if body:
        headers += (("content-type", "application/json"), ("content-length", str(len(body))))
    event = build_event("http-api-v2", method, path, query, headers, body, source_ip=SOURCE_IP)
    return Workload(method, path, query, headers, body, expected, event)


_POST_BODY = json.dumps(PAYLOAD).encode("utf-8")
assert 900 <= len(_POST_BODY) <= 1200, f"POST body should be ~1 KB, is {len(_POST_BODY)} B"

#: Method -> workload. GET exercises routing, a path parameter and the query;
#: POST adds a ~1 KB JSON body to decode, parse and echo.
WORKLOADS: dict[str, Workload] = {
    "GET": _workload("GET", "/items/42", "x=1", b"", GET_RESPONSE),
    "POST": _workload("POST", "/items", "", _POST_BODY, PAYLOAD),
}


def asgi_scope(workload: Workload, spec_version: str) -> dict[str, Any]:
    """The HTTP scope an ASGI server would pass for ``workload``.

    ``spec_version`` must be what faasify advertises: Starlette skips its
    per-response disconnect listener from spec 2.4 on, so a floor at another
    version would make the app itself do different work. There is no
    ``state`` key: the benchmark apps' lifespan stores nothing, and the key is
    optional, so the least a server can pass is none.
    """
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": workload.method,
        "scheme": "https",
        "path": workload.path,
        "raw_path": workload.path.encode("ascii"),
        "root_path": "",
        "query_string": workload.query.encode("ascii"),
        "headers": [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in workload.headers
        ],
        "client": (SOURCE_IP, 0),
        "server": (HOST, 443),
    }


def wsgi_environ(workload: Workload) -> dict[str, Any]:
    """The PEP 3333 environ a WSGI server would build for ``workload``.

    ``wsgi.input`` is left out: it is a stream, consumed by the app, so the
    caller puts a fresh one into a copy of this dict on every call.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": workload.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": workload.path,
        "QUERY_STRING": workload.query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": SOURCE_IP,
        "CONTENT_LENGTH": str(len(workload.body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in workload.headers:
        if name == "content-length":
            continue
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        environ[key] = value
    return environ
