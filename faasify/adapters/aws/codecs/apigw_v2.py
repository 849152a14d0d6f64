"""API Gateway HTTP APIs (payload format 2.0) and Lambda Function URLs.

Both send the 2.0 shape: ``rawPath``, ``rawQueryString`` as it came on the
wire, repeated headers already joined with commas, and cookies split out
into a ``cookies`` array (rejoined here with ``"; "``, as RFC 6265 writes a
Cookie header). They expect ``Set-Cookie`` back in a ``cookies`` array too:
any left in ``headers`` would be merged into one broken header.

They differ in the path: HTTP APIs deliver ``rawPath`` percent-*decoded*
(and, for a named stage, with the stage in front), Function URLs deliver it
still encoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from faasify.adapters.aws.codecs._codec import READ_ERRORS, AwsCodec, CodecOptions
from faasify.adapters.aws.codecs._maps import principal_v2
from faasify.core.body import decode_event_body, encode_response_body
from faasify.core.headers import server_from
from faasify.core.http import Request, Response
from faasify.core.paths import mount, split_root

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._schema import Field
    from faasify.adapters.aws.codecs._wsgi import V2Environ

__all__ = ["ApiGatewayV2"]


def _fields() -> Field:
    """The shape's fields, for naming what a malformed event got wrong."""
    from faasify.adapters.aws.codecs._schema import Field

    return Field(
        "object",
        requestContext=Field(
            "object",
            required=True,
            http=Field("object", required=True, method=Field("string", required=True)),
            domainName=Field("string"),
            stage=Field("string"),
            authorizer=Field("object"),
        ),
        rawPath=Field("string"),
        rawQueryString=Field("string"),
        headers=Field("string-map"),
        cookies=Field("string-list"),
        body=Field("string"),
        isBase64Encoded=Field("boolean"),
    )


_LOWER_NAMES: set[str] = set()


def _lowered(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs with lower-case names; remembers names that already were."""
    for name, _ in headers:
        if type(name) is not str:
            from faasify._exceptions import MalformedEventError

            raise MalformedEventError("header names must be strings", field="headers")
        if name.islower() and len(_LOWER_NAMES) < 1024:
            _LOWER_NAMES.add(name)
    return [(name.lower(), value) for name, value in headers]


class ApiGatewayV2(AwsCodec):
    """Payload format 2.0, for HTTP APIs and (``function_url=True``) Function URLs."""

    fields = staticmethod(_fields)

    def __init__(self, options: CodecOptions, *, function_url: bool) -> None:
        super().__init__(options)
        self.source = "function-url" if function_url else "http-api-v2"
        self._function_url = function_url

    def decode(self, event: Any, context: Any) -> Request:
        try:
            ctx = event["requestContext"]
            http = ctx["http"]
            event_headers = event.get("headers")
            if event_headers:
                headers = list(event_headers.items())
                # AWS sends 2.0 header names lower-cased; hand-made events may not.
                # Names seen before are remembered, so the check is one set test;
                # the origin is then read from the lowered names too.
                if not _LOWER_NAMES.issuperset(event_headers):
                    headers = _lowered(headers)
                    event_headers = dict(headers)
                host = event_headers.get("host") or ctx.get("domainName") or "localhost"
                server, scheme = server_from(
                    host,
                    event_headers.get("x-forwarded-port"),
                    event_headers.get("x-forwarded-proto"),
                )
            else:
                headers = []
                server, scheme = server_from(ctx.get("domainName") or "localhost", None, None)
            cookies = event.get("cookies")
            # Function URLs send the Cookie header *and* the cookies array.
            if cookies and not (event_headers and "cookie" in event_headers):
                if type(cookies) is not list:
                    raise TypeError("cookies must be a list")
                headers.append(("cookie", "; ".join(cookies)))
            path: str = event.get("rawPath") or http["path"] or "/"
            raw_path = None
            root_path = ""
            if self._function_url:
                raw_path = path.encode()
                if "%" in path:
                    path = unquote(path)
            else:
                stage = ctx.get("stage")
                if stage and stage != "$default":
                    split = split_root(path, "/" + stage)
                    if split is not None:
                        root_path, path = split
            base_path = self.options.base_path
            if base_path:
                root_path, path = mount(root_path, path, base_path)
            source_ip = http.get("sourceIp")
            body = event.get("body")
            authorizer = ctx.get("authorizer")
            method = http["method"]
            if type(method) is not str:
                raise TypeError("requestContext.http.method must be a string")
            return Request(
                method,
                path,
                (event.get("rawQueryString") or "").encode(),
                headers,
                decode_event_body(body, event.get("isBase64Encoded")) if body else b"",
                root_path,
                scheme,
                server,
                (source_ip, 0) if source_ip else None,
                raw_path,
                event,
                context,
                principal_v2(authorizer) if authorizer else None,
            )
        except READ_ERRORS as exc:
            raise self.malformed(event, exc) from exc

    def wsgi_environ(self) -> V2Environ:
        """A builder of WSGI environs straight from this shape's events, for a
        WSGI app (asked for once; its module is loaded only then)."""
        from faasify.adapters.aws.codecs._wsgi import V2Environ

        return V2Environ(self)

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        headers: dict[str, str] = {}
        cookies: list[str] | None = None
        for name, value in response.headers:
            key = name.lower()
            if key == "set-cookie":
                if cookies is None:
                    cookies = [value]
                else:
                    cookies.append(value)
            elif key in headers:
                headers[key] = f"{headers[key]}, {value}"
            else:
                headers[key] = value
        body, is_base64 = encode_response_body(
            response.body,
            headers.get("content-type"),
            headers.get("content-encoding"),
            self.options.text_types,
        )
        if cookies is None:
            return {
                "statusCode": response.status,
                "headers": headers,
                "body": body,
                "isBase64Encoded": is_base64,
            }
        return {
            "statusCode": response.status,
            "headers": headers,
            "cookies": cookies,
            "body": body,
            "isBase64Encoded": is_base64,
        }
