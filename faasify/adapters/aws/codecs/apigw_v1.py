"""API Gateway REST APIs and HTTP APIs with payload format 1.0.

Both use the 1.0 proxy shape (``httpMethod``, ``path``, ``headers`` and
``multiValueHeaders``, ``queryStringParameters`` and the multi-value twin).
They differ in two facts that matter here:

* REST APIs deliver ``path`` still percent-encoded and *without* the stage,
  although a client on the ``execute-api`` host used ``/{stage}/...``; so the
  stage becomes the root path there (and only there: a custom domain's URLs
  carry no stage).
* HTTP APIs (``"version": "1.0"``) deliver ``path`` already decoded and, for a
  named stage, *with* the stage in front.

Query values arrive decoded in both, and are re-encoded for the wire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from faasify.adapters.aws.codecs._codec import READ_ERRORS, AwsCodec, CodecOptions
from faasify.adapters.aws.codecs._maps import (
    encode_v1_style,
    headers_from_maps,
    principal_v1,
    query_string,
)
from faasify.core.body import decode_event_body
from faasify.core.headers import server_from
from faasify.core.http import Request, Response
from faasify.core.paths import mount, split_root

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._schema import Field
    from faasify.adapters.aws.codecs._wsgi import V1Environ

__all__ = ["ApiGatewayV1"]

_NO_CONTEXT: dict[str, Any] = {}


def _fields() -> Field:
    """The shape's fields, for naming what a malformed event got wrong."""
    from faasify.adapters.aws.codecs._schema import Field

    return Field(
        "object",
        httpMethod=Field("string", required=True),
        path=Field("string", required=True),
        requestContext=Field(
            "object",
            domainName=Field("string"),
            stage=Field("string"),
            identity=Field("object", sourceIp=Field("string")),
            authorizer=Field("object"),
        ),
        headers=Field("string-map"),
        multiValueHeaders=Field("multi-map"),
        queryStringParameters=Field("list-map"),
        multiValueQueryStringParameters=Field("list-map"),
        body=Field("string"),
        isBase64Encoded=Field("boolean"),
    )


class ApiGatewayV1(AwsCodec):
    """Payload format 1.0; ``multi_value`` says how to answer repeated headers."""

    fields = staticmethod(_fields)

    def __init__(self, options: CodecOptions, *, http_api: bool, multi_value: bool) -> None:
        super().__init__(options)
        self.source = "http-api-v1" if http_api else "rest-v1"
        self._http_api = http_api
        self._multi_value = multi_value

    def decode(self, event: Any, context: Any) -> Request:
        try:
            # Direct invokes and test harnesses send the shape without a context.
            ctx = event.get("requestContext") or _NO_CONTEXT
            found = headers_from_maps(event.get("headers"), event.get("multiValueHeaders"))
            origin = found.origin
            server, scheme = server_from(
                origin[1] or ctx.get("domainName") or "localhost", origin[2], origin[3]
            )
            path: str = event["path"] or "/"
            if type(path) is not str:
                raise TypeError("path must be a string")
            stage = ctx.get("stage")
            root_path = ""
            raw_path = None
            if self._http_api:
                if stage and stage != "$default":
                    split = split_root(path, "/" + stage)
                    if split is not None:
                        root_path, path = split
            else:
                raw_path = path.encode()
                if "%" in path:
                    path = unquote(path)
                if stage and ".execute-api." in server[0]:
                    root_path = "/" + stage
                    raw_path = root_path.encode() + raw_path
            if self.options.base_path:
                root_path, path = mount(root_path, path, self.options.base_path)
            identity = ctx.get("identity")
            source_ip = identity.get("sourceIp") if identity else None
            authorizer = ctx.get("authorizer")
            method = event["httpMethod"]
            if type(method) is not str:
                raise TypeError("httpMethod must be a string")
            return Request(
                method,
                path,
                query_string(
                    event.get("queryStringParameters"),
                    event.get("multiValueQueryStringParameters"),
                    decoded=True,
                ),
                found.pairs,
                decode_event_body(event.get("body"), event.get("isBase64Encoded")),
                root_path,
                scheme,
                server,
                (source_ip, 0) if source_ip else None,
                raw_path,
                event,
                context,
                principal_v1(authorizer) if authorizer else None,
            )
        except READ_ERRORS as exc:
            raise self.malformed(event, exc) from exc

    def wsgi_environ(self) -> V1Environ:
        """A builder of WSGI environs straight from this shape's events, for a
        WSGI app (asked for once; its module is loaded only then)."""
        from faasify.adapters.aws.codecs._wsgi import V1Environ

        return V1Environ(self)

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        return encode_v1_style(response, self.options, multi_value=self._multi_value, extra={})
