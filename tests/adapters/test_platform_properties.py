"""Property: any request survives event -> app -> answer on the platforms beside AWS.

The same generated requests as the AWS shapes' round trip (methods, unicode
paths, repeated query keys and headers, cookies, binary bodies), through each
platform's event builder, its factory and its answer as the platform sends it.
"""

from __future__ import annotations

import json
from base64 import b64decode
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings

from faasify.adapters import huawei, openwhisk, tencent
from faasify.local.platform_events import (
    PLATFORM_FORMATS,
    build_platform_event,
    read_platform_result,
)
from tests.adapters.aws.test_properties import (
    _grouped,
    asgi_echo,
    bodies,
    cookies,
    headers,
    methods,
    paths,
    queries,
    wsgi_echo,
)

FACTORIES: dict[str, Any] = {
    "openwhisk": openwhisk.handler,
    "digitalocean": openwhisk.handler,
    "tencent-scf": tencent.handler,
    "huawei-functiongraph": huawei.handler,
}
_BUILT: dict[tuple[str, str], Any] = {}


def _entry(event_format: str, kind: str) -> Any:
    key = (event_format, kind)
    if key not in _BUILT:
        app = wsgi_echo if kind == "wsgi" else asgi_echo
        options: dict[str, Any] = {"handle_signals": False}
        if kind == "asgi":
            options["lifespan"] = "off"
        _BUILT[key] = FACTORIES[event_format](app, **options)
    return _BUILT[key]


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
@pytest.mark.parametrize("event_format", PLATFORM_FORMATS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(methods, paths, queries, headers, cookies, bodies)
def test_round_trip(
    event_format: str,
    kind: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    header_pairs: list[tuple[str, str]],
    cookie_map: dict[str, str],
    body: bytes,
) -> None:
    header_pairs = [(n, v.replace(",", "")) for n, v in header_pairs]
    wire_query = urlencode(query, quote_via=quote)
    cookie_header = [("cookie", "; ".join(f"{k}={v}" for k, v in cookie_map.items()))]
    sent_headers = header_pairs + (cookie_header if cookie_map else [])
    # A custom domain: on Tencent's own domain the environment would become the root path.
    event = build_platform_event(
        event_format,
        method,
        quote(path, safe="/"),
        wire_query,
        sent_headers,
        body,
        host="api.example.com",
    )

    result = read_platform_result(event_format, _entry(event_format, kind)(event, None))

    assert result.status == 200, result.body
    seen = json.loads(result.body)
    assert seen["method"] == method
    assert seen["path"] == path
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
