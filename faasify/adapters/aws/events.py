"""Build AWS HTTP events from plain HTTP parts, and read handler results back.

These produce the shapes the platforms send, with the same quirks (HTTP APIs
decode the path, ALB leaves query values encoded, REST APIs leave the stage
out of ``path``), so that a handler exercised locally meets what it will meet
when deployed. The development server, the tests and the benchmarks all use
them.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, quote, unquote

from faasify._exceptions import ConfigurationError
from faasify.adapters.aws.shapes import SHAPES, Shape

__all__ = ["EVENT_FORMATS", "EventFormat", "HTTPResult", "build_event", "quote_path", "read_result"]

#: The shape an event is built in; the names are :mod:`faasify.adapters.aws.shapes`'.
EventFormat: TypeAlias = Shape
EVENT_FORMATS: tuple[EventFormat, ...] = SHAPES


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _body(body: bytes, binary: bool | None) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if binary is None:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            binary = True
    if binary:
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8"), False


def build_event(
    event_format: EventFormat,
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    stage: str = "$default",
    host: str | None = None,
    source_ip: str = "127.0.0.1",
    binary: bool | None = None,
) -> dict[str, Any]:
    """An event of ``event_format`` for one HTTP request.

    ``path`` and ``query`` are as on the wire (percent-encoded, query without
    ``?``). ``headers`` may repeat names; ``Cookie`` headers are split the way
    each source splits them. ``host`` defaults to a custom domain for API
    Gateway (pass an ``execute-api`` host to see REST stages in the URL) and to
    the platform's own domain for Function URLs and ALB. ``binary=None``
    base64-encodes the body only if it is not UTF-8; ``True``/``False`` force
    the flag.
    """
    request_id = str(uuid.uuid4())
    now_ms = int(time.time() * 1000)
    lower = [(name.lower(), value) for name, value in headers]
    body_text, is_base64 = _body(body, binary)
    query_pairs = parse_qsl(query, keep_blank_values=True)

    if event_format in ("http-api-v2", "function-url"):
        furl = event_format == "function-url"
        domain = host or ("abcdefghij.lambda-url.us-east-1.on.aws" if furl else "api.example.com")
        cookies = [c.strip() for n, v in lower if n == "cookie" for c in v.split(";") if c.strip()]
        grouped = _group((n, v) for n, v in lower if n != "cookie")
        event_headers = {n: ",".join(vs) for n, vs in grouped.items()}
        event_headers.setdefault("host", domain)
        # HTTP APIs hand over the path decoded; Function URLs keep it encoded.
        raw_path = path if furl else unquote(path)
        if not furl and stage != "$default":
            raw_path = f"/{stage}{raw_path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": event_headers,
            "requestContext": {
                "accountId": "123456789012" if not furl else "anonymous",
                "apiId": domain.split(".", 1)[0],
                "domainName": domain,
                "domainPrefix": domain.split(".", 1)[0],
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": dict(lower).get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": "$default",
                "stage": stage,
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                "timeEpoch": now_ms,
            },
            "isBase64Encoded": is_base64,
        }
        if cookies:
            event["cookies"] = cookies
        if query_pairs:
            event["queryStringParameters"] = {
                k: ",".join(vs) for k, vs in _group(query_pairs).items()
            }
        if body_text is not None:
            event["body"] = body_text
        return event

    if event_format in ("http-api-v1", "rest-v1"):
        rest = event_format == "rest-v1"
        domain = host or "api.example.com"
        grouped = _group(lower)
        grouped.setdefault("host", [domain])
        multi_query = _group(query_pairs)
        # REST APIs keep the path encoded and without the stage; HTTP APIs
        # decode it and put a named stage in front.
        event_path = path if rest else unquote(path)
        if not rest and stage != "$default":
            event_path = f"/{stage}{event_path}"
        event = {
            "resource": "/{proxy+}",
            "path": event_path,
            "httpMethod": method,
            "headers": {n: vs[-1] for n, vs in grouped.items()},
            "multiValueHeaders": grouped,
            "queryStringParameters": {k: vs[-1] for k, vs in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": {"proxy": event_path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": domain.split(".", 1)[0],
                "domainName": domain,
                "httpMethod": method,
                "identity": {"sourceIp": source_ip},
                "path": f"/{stage}{path}" if rest else event_path,
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTimeEpoch": now_ms,
                "resourcePath": "/{proxy+}",
                "stage": stage if not rest or stage != "$default" else "prod",
            },
            "body": body_text,
            "isBase64Encoded": is_base64,
        }
        if not rest:
            event["version"] = "1.0"
        return event

    if event_format in ("alb", "alb-multi-value"):
        domain = host or "my-alb-1234567890.us-east-1.elb.amazonaws.com"
        grouped = _group(lower)
        grouped.setdefault("host", [domain])
        grouped.setdefault("x-forwarded-for", [source_ip])
        grouped.setdefault("x-forwarded-port", ["443"])
        grouped.setdefault("x-forwarded-proto", ["https"])
        # ALB passes query keys and values on exactly as the client encoded them.
        raw_query = [
            (key, value)
            for key, _, value in (part.partition("=") for part in query.split("&") if part)
        ]
        event = {
            "requestContext": {
                "elb": {
                    "targetGroupArn": (
                        "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                        "targetgroup/faasify-local/0123456789abcdef"
                    )
                }
            },
            "httpMethod": method,
            "path": path,
            "body": body_text or "",
            "isBase64Encoded": is_base64,
        }
        if event_format == "alb-multi-value":
            event["multiValueHeaders"] = grouped
            event["multiValueQueryStringParameters"] = _group(raw_query)
        else:
            event["headers"] = {n: vs[-1] for n, vs in grouped.items()}
            event["queryStringParameters"] = dict(raw_query)
        return event

    if event_format in ("vpc-lattice-v1", "vpc-lattice-v2"):
        return _lattice_event(
            event_format == "vpc-lattice-v2",
            method,
            path,
            query_pairs,
            lower,
            body,
            host,
            source_ip,
            binary,
        )

    if event_format in ("cloudfront-viewer-request", "cloudfront-origin-request"):
        return _edge_event(event_format, method, path, query, headers, body, host, source_ip)

    raise ConfigurationError(f"unknown event format {event_format!r}; one of {EVENT_FORMATS}")


def _lattice_event(
    v2: bool,
    method: str,
    path: str,
    query_pairs: list[tuple[str, str]],
    lower: list[tuple[str, str]],
    body: bytes,
    host: str | None,
    source_ip: str,
    binary: bool | None,
) -> dict[str, Any]:
    """A VPC Lattice event: 2.0 keeps every value in lists, 1.0 joins headers
    with ``", "`` and keeps a query key's last value."""
    domain = host or "todo-service-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws"
    grouped = _group(lower)
    grouped.setdefault("host", [domain])
    grouped.setdefault("x-forwarded-for", [source_ip])
    body_text, is_base64 = _body(body, binary)
    if not v2:
        event: dict[str, Any] = {
            "raw_path": path,
            "method": method,
            "headers": {n: ", ".join(vs) for n, vs in grouped.items()},
            "query_string_parameters": dict(query_pairs),
            "body": body_text or "",
            "is_base64_encoded": is_base64,
        }
        return event
    arn = "arn:aws:vpc-lattice:us-east-1:123456789012"
    return {
        "version": "2.0",
        "path": path,
        "method": method,
        "headers": grouped,
        "queryStringParameters": _group(query_pairs),
        "body": body_text or "",
        "isBase64Encoded": is_base64,
        "requestContext": {
            "serviceNetworkArn": f"{arn}:servicenetwork/sn-0bf3f2882e9cc805a",
            "serviceArn": f"{arn}:service/svc-0a40eebed65f8d69c",
            "targetGroupArn": f"{arn}:targetgroup/tg-6d0ecf831eec9f09",
            "identity": {
                "sourceVpcArn": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0b8276c84697e7339",
            },
            "region": "us-east-1",
            "timeEpoch": str(int(time.time() * 1_000_000)),
        },
    }


def _edge_event(
    event_format: str,
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    host: str | None,
    source_ip: str,
) -> dict[str, Any]:
    """A Lambda@Edge request event, with the trigger's *include body* option on."""
    domain = host or "d111111abcdef8.cloudfront.net"
    lines: dict[str, list[dict[str, str]]] = {}
    for name, value in headers:
        lines.setdefault(name.lower(), []).append({"key": name, "value": value})
    lines.setdefault("host", [{"key": "Host", "value": domain}])
    request: dict[str, Any] = {
        "clientIp": source_ip,
        "headers": lines,
        "method": method,
        "querystring": query,
        "uri": path,
    }
    if body:
        request["body"] = {
            "inputTruncated": False,
            "action": "read-only",
            "encoding": "base64",
            "data": base64.b64encode(body).decode("ascii"),
        }
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": event_format.removeprefix("cloudfront-"),
                        "requestId": base64.b64encode(uuid.uuid4().bytes * 2).decode("ascii"),
                    },
                    "request": request,
                }
            }
        ]
    }


@dataclass
class HTTPResult:
    """A handler's answer read back as HTTP: status, header pairs, body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or ``None``."""
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def read_result(result: dict[str, Any]) -> HTTPResult:
    """The HTTP response a platform would send for a handler's ``result``."""
    if "statusCode" not in result and "status" in result:
        return _read_edge_result(result)
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name, value) for value in values)
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, value))
    headers.extend(("set-cookie", cookie) for cookie in result.get("cookies") or ())
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return HTTPResult(int(result["statusCode"]), headers, data)


def _read_edge_result(result: dict[str, Any]) -> HTTPResult:
    """A Lambda@Edge generated response: ``status`` as a string, header lists."""
    headers = [
        (line.get("key") or name, line["value"])
        for name, lines in (result.get("headers") or {}).items()
        for line in lines
    ]
    body = result.get("body") or ""
    if result.get("bodyEncoding") == "base64":
        data = base64.b64decode(body)
    else:
        data = body.encode("utf-8")
    return HTTPResult(int(result["status"]), headers, data)


def quote_path(path: str) -> str:
    """Percent-encode a decoded path for the wire (``/café`` -> ``/caf%C3%A9``)."""
    return quote(path, safe="/!$&'()*+,;=:@~")
