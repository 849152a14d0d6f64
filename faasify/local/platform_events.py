"""Events of the platforms beside AWS, built from plain HTTP parts, and their answers read back.

The AWS shapes are built by :mod:`faasify.adapters.aws.events`; these are
the events OpenWhisk's and DigitalOcean's web actions, Tencent SCF's API
Gateway trigger and Huawei FunctionGraph's APIG trigger hand a function, with
their quirks (OpenWhisk's lower-case method and media-type rule for base64
bodies, Huawei's base64 body by default), for ``faasify event``, ``faasify
invoke --event-format`` and the tests.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from faasify._exceptions import ConfigurationError
from faasify.adapters.aws.events import HTTPResult, read_result

__all__ = ["PLATFORM_FORMATS", "build_platform_event", "read_platform_result"]

#: Every platform event format, by the front door's name.
PLATFORM_FORMATS: tuple[str, ...] = (
    "openwhisk",
    "digitalocean",
    "tencent-scf",
    "huawei-functiongraph",
)

_BASE64 = re.compile(
    r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$"
)


def _joined(headers: Sequence[tuple[str, str]], lower: bool) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower() if lower else name
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def _query_map(query: str) -> dict[str, str | list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    return {k: vs[0] if len(vs) == 1 else vs for k, vs in grouped.items()}


def _openwhisk_params(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    host: str | None,
) -> dict[str, Any]:
    from faasify.adapters.openwhisk import controller_sends_text

    joined = _joined(headers, lower=True)
    joined.setdefault("host", host or "controller")
    content_type = joined.get("content-type", "")
    if body and controller_sends_text(content_type):
        text = body.decode("utf-8")
    else:
        text = base64.b64encode(body).decode("ascii") if body else ""
    return {
        "__ow_method": method.lower(),
        "__ow_path": "" if path == "/" else path,
        "__ow_headers": joined,
        "__ow_query": query,
        "__ow_body": text,
    }


def _digitalocean_params(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    host: str | None,
) -> dict[str, Any]:
    joined = _joined(headers, lower=True)
    joined.setdefault("host", host or "faas-nyc1-2ef2e6cc.doserverless.co")
    try:
        text, flag = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, flag = base64.b64encode(body).decode("ascii"), True
    return {
        "http": {
            "method": method.upper(),
            "path": "" if path == "/" else path,
            "headers": joined,
            "queryString": query,
            "body": text,
            "isBase64Encoded": flag,
        }
    }


def _tencent_event(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    host: str | None,
) -> dict[str, Any]:
    joined = _joined(headers, lower=False)
    if not any(k.lower() == "host" for k in joined):
        joined["Host"] = host or "service-abcd1234-1250000000.gz.apigw.tencentcs.com"
    try:
        text, flag = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, flag = base64.b64encode(body).decode("ascii"), True
    return {
        "requestContext": {
            "serviceId": "service-abcd1234",
            "path": "/",
            "httpMethod": method,
            "requestId": str(uuid.uuid4()),
            "identity": {},
            "sourceIp": "203.0.113.7",
            "stage": "release",
        },
        "headers": joined,
        "body": text,
        "pathParameters": {},
        "queryStringParameters": {},
        "headerParameters": {},
        "stageVariables": {"stage": "release"},
        "path": path,
        "queryString": _query_map(query),
        "httpMethod": method,
        "isBase64Encoded": flag,
    }


def _huawei_event(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    host: str | None,
) -> dict[str, Any]:
    joined = _joined(headers, lower=True)
    joined.setdefault(
        "host", host or "0123456789abcdef0123456789abcdef.apigw.ap-southeast-1.huaweicloud.com"
    )
    joined.setdefault("x-forwarded-proto", "https")
    return {
        # APIG sends the body base64 by default (x-apigateway-is-send-fg-body-base64).
        "body": base64.b64encode(body).decode("ascii"),
        "requestContext": {
            "apiId": "bc1dcffd-aa35-474d-897c-d53425a4c08e",
            "requestId": uuid.uuid4().hex,
            "stage": "RELEASE",
        },
        "queryStringParameters": _query_map(query),
        "httpMethod": method,
        "pathParameters": {},
        "headers": joined,
        "path": path,
        "isBase64Encoded": True,
    }


_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "openwhisk": _openwhisk_params,
    "digitalocean": _digitalocean_params,
    "tencent-scf": _tencent_event,
    "huawei-functiongraph": _huawei_event,
}


def build_platform_event(
    event_format: str,
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str | None = None,
) -> dict[str, Any]:
    """The event ``event_format``'s platform hands a function for one HTTP request.

    ``path`` and ``query`` are as on the wire (percent-encoded, no ``?``).
    """
    builder = _BUILDERS.get(event_format)
    if builder is None:
        raise ConfigurationError(
            f"unknown event format {event_format!r}; one of {PLATFORM_FORMATS}"
        )
    return builder(method, path, query, headers, body, host)


def _read_web_action(result: dict[str, Any]) -> HTTPResult:
    """A web action's answer as the controller sends it (its base64 rule)."""
    from faasify.adapters.openwhisk import controller_sends_text

    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        values = value if isinstance(value, list) else [value]
        headers.extend((name, str(v)) for v in values)
    body = result.get("body") or ""
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    mime = content_type.partition(";")[0].strip().lower()
    json_family = mime == "application/json" or mime.endswith("+json")
    if content_type and (
        (json_family and _BASE64.match(body.strip()))
        or not (json_family or controller_sends_text(content_type))
    ):
        data = base64.b64decode(body)
    else:
        data = body.encode("utf-8")
    return HTTPResult(int(result.get("statusCode") or 200), headers, data)


def read_platform_result(event_format: str, result: dict[str, Any]) -> HTTPResult:
    """The HTTP response ``event_format``'s platform sends for a handler's ``result``."""
    if event_format in ("openwhisk", "digitalocean"):
        return _read_web_action(result)
    return read_result(result)
