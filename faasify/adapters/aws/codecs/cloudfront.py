"""CloudFront Lambda@Edge: viewer-request and origin-request events.

A function on a viewer-request or origin-request trigger can answer the
request itself (CloudFront calls that generating a response), which is how
an app serves behind a distribution. The event is
``Records[0].cf.config`` (``eventType``, ``distributionDomainName``) and
``Records[0].cf.request``: ``method``, ``uri`` (the path as the viewer sent
it), ``querystring`` (the wire query, without ``?``), ``clientIp``,
``headers`` (lower-case names, each a list of ``{key, value}``, one per
line) and, with the trigger's *include body* option, ``body`` (``data`` in
``encoding``, base64 by default, and ``inputTruncated`` when CloudFront cut
it: 40 KB for viewer requests, 1 MB for origin requests, which faasify
refuses rather than hand a cut body to the app).

The answer is ``status`` (a string), ``statusDescription``, ``headers`` in
the same list form (so several ``Set-Cookie`` lines stay apart),
``bodyEncoding`` and ``body``. Headers Lambda@Edge refuses in a generated
response (hop-by-hop, ``X-Amz-Cf-*``, ``X-Edge-*``, ``Content-Length``, ...)
are left out: CloudFront would answer 502 for any of them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from faasify._exceptions import MalformedEventError
from faasify.adapters.aws.codecs._codec import READ_ERRORS, AwsCodec, CodecOptions
from faasify.adapters.aws.codecs._maps import check_str
from faasify.adapters.aws.codecs._schema import Field
from faasify.core.body import content_headers, decode_event_body, encode_response_body
from faasify.core.headers import origin
from faasify.core.http import Request, Response
from faasify.core.paths import mount, unquote_path

__all__ = ["EDGE_EVENT_TYPES", "CloudFrontRequest"]

#: The triggers whose function may answer the request, by ``eventType``.
EDGE_EVENT_TYPES = ("viewer-request", "origin-request")

_REQUEST = Field(
    "object",
    required=True,
    method=Field("string", required=True),
    uri=Field("string", required=True),
    querystring=Field("string"),
    clientIp=Field("string"),
    headers=Field("object"),
    body=Field("object", data=Field("string"), encoding=Field("string")),
)
_FIELDS = Field("object")  # Records[0].cf is checked by _diagnose below

# Refused by Lambda@Edge in a generated response, or meaningless once buffered.
_REFUSED = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
_REFUSED_PREFIXES = ("x-accel-", "x-amz-cf-", "x-amzn-", "x-edge-")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _allowed(name: str) -> bool:
    return name not in _REFUSED and not name.startswith(_REFUSED_PREFIXES)


class CloudFrontRequest(AwsCodec):
    """A Lambda@Edge request event; ``event_type`` is the trigger it stands for."""

    fields = staticmethod(lambda: _FIELDS)

    def __init__(self, options: CodecOptions, *, event_type: str) -> None:
        super().__init__(options)
        if event_type not in EDGE_EVENT_TYPES:
            raise ValueError(f"event_type must be one of {EDGE_EVENT_TYPES}, not {event_type!r}")
        self.source = "cloudfront-viewer-request"
        if event_type == "origin-request":
            self.source = "cloudfront-origin-request"
        self.event_type = event_type

    def decode(self, event: Any, context: Any) -> Request:
        try:
            cf = event["Records"][0]["cf"]
            request = cf["request"]
            headers: list[tuple[str, str]] = []
            cookies: list[str] = []
            for name, lines in (request.get("headers") or {}).items():
                lowered = check_str(name, "header name").lower()
                for line in lines:
                    value = check_str(line["value"], "header value")
                    if lowered == "cookie":
                        cookies.append(value)
                    else:
                        headers.append((lowered, value))
            if cookies:
                headers.append(("cookie", "; ".join(cookies)))
            proto = None
            for name, value in headers:
                if name == "cloudfront-forwarded-proto":
                    proto = value
            config = cf.get("config") or {}
            server, scheme = origin(
                headers, config.get("distributionDomainName") or "localhost", proto
            )
            raw = check_str(request["uri"] or "/", "uri")
            root_path, path = mount("", unquote_path(raw), self.options.base_path)
            body = b""
            found = request.get("body")
            if found:
                if found.get("inputTruncated"):
                    raise MalformedEventError(
                        "CloudFront cut the body short (inputTruncated): it is larger than "
                        "Lambda@Edge passes to a function",
                        field="Records[0].cf.request.body",
                        source=self.source,
                    )
                body = decode_event_body(found.get("data"), found.get("encoding") != "text")
            client_ip = request.get("clientIp")
            return Request(
                check_str(request["method"], "method"),
                path,
                check_str(request.get("querystring") or "", "querystring").encode(),
                headers,
                body,
                root_path,
                scheme,
                server,
                (client_ip, 0) if client_ip else None,
                raw.encode("utf-8"),
                event,
                context,
            )
        except READ_ERRORS as exc:
            raise self.malformed(event, exc) from exc

    def malformed(self, event: Any, error: Exception) -> MalformedEventError:
        if isinstance(error, MalformedEventError):
            return error
        problem = _diagnose(event, self.source)
        if problem is None:
            raise error
        return problem

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        grouped: dict[str, list[dict[str, str]]] = {}
        kept = []
        for name, value in response.headers:
            lowered = name.lower()
            if not _allowed(lowered):
                continue
            kept.append((name, value))
            grouped.setdefault(lowered, []).append({"key": name, "value": value})
        content_type, content_encoding = content_headers(kept)
        body, is_base64 = encode_response_body(
            response.body, content_type, content_encoding, self.options.text_types
        )
        result: dict[str, Any] = {
            "status": str(response.status),
            "statusDescription": _phrase(response.status),
            "headers": grouped,
        }
        if body:
            result["bodyEncoding"] = "base64" if is_base64 else "text"
            result["body"] = body
        return result


def _diagnose(event: Any, source: str) -> MalformedEventError | None:
    """What is wrong with a Lambda@Edge event, checked only after a failed read."""
    from faasify.adapters.aws.codecs._schema import diagnose

    if type(event) is not dict:
        return MalformedEventError(
            f"the event must be a JSON object, not {type(event).__name__}", source=source
        )
    records = event.get("Records")
    if type(records) is not list or not records or type(records[0]) is not dict:
        return MalformedEventError(
            "Records must be a list holding one record", field="Records", source=source
        )
    cf = records[0].get("cf")
    if type(cf) is not dict:
        return MalformedEventError(
            "Records[0].cf must be a JSON object", field="Records[0].cf", source=source
        )
    found = diagnose(Field("object", request=_REQUEST), cf, source)
    if found is not None:
        # diagnose names the field from cf: put the path to cf in front.
        return MalformedEventError(
            f"Records[0].cf.{found}", field=f"Records[0].cf.{found.field}", source=source
        )
    headers = cf["request"].get("headers") or {}
    for name, lines in headers.items():
        ok = type(lines) is list and all(
            type(line) is dict and type(line.get("value")) is str for line in lines
        )
        if not ok:
            field = "Records[0].cf.request.headers"
            return MalformedEventError(
                f"{field} has a value for {name!r} that is not a list of {{key, value}}",
                field=field,
                source=source,
            )
    return None
