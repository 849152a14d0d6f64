"""Property: any request survives event -> app -> response, for every source.

Arbitrary methods, paths with unicode and percent-escapes, repeated query
keys, repeated headers, cookies and binary bodies go in through each event
shape to a bare WSGI and a bare ASGI app that report exactly what they got,
and back out through the matching response shape.
"""

from __future__ import annotations

import json
import string
from base64 import b64decode, b64encode
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faasify import LambdaHandler, asgi, wsgi
from faasify.adapters.aws.events import EVENT_FORMATS, EventFormat, build_event, read_result


def _report(
    method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
) -> bytes:
    return json.dumps(
        {
            "method": method,
            "path": path,
            "query": query,
            "headers": headers,
            "body": b64encode(body).decode(),
        }
    ).encode()


def _response_headers(cookies: list[str]) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("X-Count", "1"),
        ("X-Count", "2"),
        *(("Set-Cookie", cookie) for cookie in cookies),
    ]


def _cookies_from(header_pairs: list[tuple[str, str]]) -> list[str]:
    return [
        f"{c.strip()}; Path=/"
        for name, value in header_pairs
        if name == "cookie"
        for c in value.split(";")
        if c.strip()
    ]


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    headers = [
        (key[5:].lower().replace("_", "-"), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    body = environ["wsgi.input"].read()
    start_response("200 OK", _response_headers(_cookies_from(headers)))
    path = environ["PATH_INFO"].encode("latin-1").decode("utf-8")
    return [_report(environ["REQUEST_METHOD"], path, environ["QUERY_STRING"], headers, body)]


async def asgi_echo(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    cookies = _cookies_from(headers)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(k.encode(), v.encode()) for k, v in _response_headers(cookies)],
        }
    )
    report = _report(
        scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers, body
    )
    await send({"type": "http.response.body", "body": report})


HANDLERS: dict[str, LambdaHandler] = {}


def _handler(kind: str) -> LambdaHandler:
    if kind not in HANDLERS:
        HANDLERS[kind] = wsgi(wsgi_echo) if kind == "wsgi" else asgi(asgi_echo, lifespan="off")
    return HANDLERS[kind]


TOKEN = string.ascii_letters + string.digits
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
    st.text(string.ascii_uppercase, min_size=1, max_size=10),
)
segment = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
paths = st.lists(segment, max_size=5).map(lambda segs: "/" + "/".join(segs))
query_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10)
queries = st.lists(st.tuples(query_text.filter(bool), query_text), max_size=6)
header_names = st.text(string.ascii_lowercase + "-", min_size=1, max_size=12).map(
    lambda name: "x-" + name
)
header_values = st.text(
    string.ascii_letters + string.digits + " !#$%&'()*+-./:<=>?@[]^_`{|}~", max_size=20
).map(str.strip)
headers = st.lists(st.tuples(header_names, header_values), max_size=6)
cookies = st.dictionaries(
    st.text(TOKEN, min_size=1, max_size=8), st.text(TOKEN, max_size=8), max_size=4
)
bodies = st.binary(max_size=300)


def _last_wins(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a single-value map keeps: each key once, with its last value, in first order."""
    kept: dict[str, str] = {}
    for key, value in pairs:
        kept[key] = value
    return list(kept.items())


def _grouped(pairs: list[tuple[str, str]], joined: bool) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        parts = [v.strip() for v in value.split(",")] if joined else [value]
        grouped.setdefault(name, []).extend(parts)
    return grouped


def check(
    kind: str,
    event_format: EventFormat,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    header_pairs: list[tuple[str, str]],
    cookie_map: dict[str, str],
    body: bytes,
) -> None:
    header_pairs = [(n, v.replace(",", "")) for n, v in header_pairs]
    if event_format in ("alb", "vpc-lattice-v1"):
        # Single-value maps keep a query key's last value; ALB keeps a
        # header's last value too (Lattice 1.0 joins them with commas).
        query = _last_wins(query)
    if event_format == "alb":
        header_pairs = _last_wins(header_pairs)
    wire_query = urlencode(query, quote_via=quote)
    cookie_header = [("cookie", "; ".join(f"{k}={v}" for k, v in cookie_map.items()))]
    sent_headers = header_pairs + (cookie_header if cookie_map else [])
    event = build_event(
        event_format, method, quote(path, safe="/"), wire_query, sent_headers, body, binary=True
    )

    result = read_result(_handler(kind)(event, None))

    assert result.status == 200
    seen = json.loads(result.body)
    assert seen["method"] == method
    assert seen["path"] == path
    # Multi-value maps keep each key's values in order, not the interleaving.
    seen_query = parse_qsl(seen["query"], keep_blank_values=True)
    assert _grouped(seen_query, joined=False) == _grouped(query, joined=False)
    assert b64decode(seen["body"]) == body
    seen_headers = _grouped([(p[0], p[1]) for p in seen["headers"]], joined=True)
    for name, values in _grouped(header_pairs, joined=False).items():
        assert seen_headers.get(name, [""]) == [v.strip() for v in values]
    if cookie_map:
        seen_cookies = dict(
            c.strip().partition("=")[::2] for c in seen_headers["cookie"][0].split(";")
        )
        assert seen_cookies == cookie_map
    assert sorted(result.header_values("set-cookie")) == sorted(
        f"{k}={v}; Path=/" for k, v in cookie_map.items()
    )
    counts = [v.strip() for value in result.header_values("x-count") for v in value.split(",")]
    assert counts == ["1", "2"]


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
@pytest.mark.parametrize("event_format", EVENT_FORMATS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(methods, paths, queries, headers, cookies, bodies)
def test_round_trip(
    event_format: EventFormat,
    kind: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    header_pairs: list[tuple[str, str]],
    cookie_map: dict[str, str],
    body: bytes,
) -> None:
    check(kind, event_format, method, path, query, header_pairs, cookie_map, body)
