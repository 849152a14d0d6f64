"""Application Load Balancer target-group events.

With multi-value headers turned on for the target group, the event carries
``multiValueHeaders``/``multiValueQueryStringParameters`` and the answer must
use ``multiValueHeaders``; otherwise one value per name goes each way. ALB
passes the path and the query values exactly as the client encoded them (it
does not decode them, unlike API Gateway), so they are decoded here, once.
ALB also wants a ``statusDescription`` such as ``"200 OK"``.

Several ``Set-Cookie`` headers without multi-value mode go out under
differently-cased names, one cookie each; turning multi-value headers on is
the cleaner fix and the one the docs recommend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from faasify.adapters.aws.codecs._codec import READ_ERRORS, AwsCodec, CodecOptions
from faasify.adapters.aws.codecs._maps import (
    encode_v1_style,
    headers_from_maps,
    query_string,
    status_description,
)
from faasify.core.body import decode_event_body
from faasify.core.headers import server_from
from faasify.core.http import Request, Response
from faasify.core.paths import mount

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._schema import Field
    from faasify.adapters.aws.codecs._wsgi import AlbEnviron

__all__ = ["ApplicationLoadBalancer"]


def _fields() -> Field:
    """The shape's fields, for naming what a malformed event got wrong."""
    from faasify.adapters.aws.codecs._schema import Field

    return Field(
        "object",
        httpMethod=Field("string", required=True),
        path=Field("string", required=True),
        requestContext=Field("object", required=True, elb=Field("object", required=True)),
        headers=Field("string-map"),
        multiValueHeaders=Field("multi-map"),
        queryStringParameters=Field("list-map"),
        multiValueQueryStringParameters=Field("list-map"),
        body=Field("string"),
        isBase64Encoded=Field("boolean"),
    )


class ApplicationLoadBalancer(AwsCodec):
    """An ALB event; ``multi_value`` mirrors the target group's setting."""

    fields = staticmethod(_fields)

    def __init__(self, options: CodecOptions, *, multi_value: bool) -> None:
        super().__init__(options)
        self.source = "alb-multi-value" if multi_value else "alb"
        self._multi_value = multi_value

    def decode(self, event: Any, context: Any) -> Request:
        try:
            found = headers_from_maps(event.get("headers"), event.get("multiValueHeaders"))
            headers = found.pairs
            origin = found.origin
            server, scheme = server_from(origin[1] or "localhost", origin[2], origin[3])
            raw = event["path"] or "/"
            if type(raw) is not str:
                raise TypeError("path must be a string")
            path = unquote(raw) if "%" in raw else raw
            root_path = ""
            if self.options.base_path:
                root_path, path = mount("", path, self.options.base_path)
            client = None
            for name, value in headers:
                if name == "x-forwarded-for":
                    client = (value.split(",", 1)[0].strip(), 0)
                    break
            method = event["httpMethod"]
            if type(method) is not str:
                raise TypeError("httpMethod must be a string")
            return Request(
                method,
                path,
                query_string(
                    event.get("queryStringParameters"),
                    event.get("multiValueQueryStringParameters"),
                    decoded=False,
                ),
                headers,
                decode_event_body(event.get("body"), event.get("isBase64Encoded")),
                root_path,
                scheme,
                server,
                client,
                raw.encode(),
                event,
                context,
            )
        except READ_ERRORS as exc:
            raise self.malformed(event, exc) from exc

    def wsgi_environ(self) -> AlbEnviron:
        """A builder of WSGI environs straight from this shape's events, for a
        WSGI app (asked for once; its module is loaded only then)."""
        from faasify.adapters.aws.codecs._wsgi import AlbEnviron

        return AlbEnviron(self)

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        return encode_v1_style(
            response,
            self.options,
            multi_value=self._multi_value,
            extra={"statusDescription": status_description(response.status)},
        )
