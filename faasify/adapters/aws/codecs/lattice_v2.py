"""Amazon VPC Lattice target groups, event structure version 2.0.

Version 2.0 carries ``version: "2.0"``, ``path``, ``method``, every header as
a list of values (a repeated header keeps each line), every query key as a
list of values, and a ``requestContext`` naming the service network, the
service, the target group and the caller's ``identity`` (VPC, IAM principal,
Roles Anywhere certificate). The identity reaches the app with the event
(``scope["aws.event"]``, ``environ["faasify.event"]``).

The path is taken as the client sent it, percent-encoded, as Lattice proxies
it like a load balancer; the query values as decoded, and re-encoded once.
The answer is ``statusCode``, ``headers`` (one value per name),
``body`` and ``isBase64Encoded``.
"""

from __future__ import annotations

from typing import Any

from faasify.adapters.aws.codecs._codec import READ_ERRORS, AwsCodec, CodecOptions
from faasify.adapters.aws.codecs._lattice import encode_lattice
from faasify.adapters.aws.codecs._maps import check_str, headers_from_maps, query_string
from faasify.adapters.aws.codecs._schema import Field
from faasify.core.body import decode_event_body
from faasify.core.headers import server_from
from faasify.core.http import Request, Response
from faasify.core.paths import mount, unquote_path

__all__ = ["VpcLatticeV2"]

_FIELDS = Field(
    "object",
    method=Field("string", required=True),
    path=Field("string", required=True),
    headers=Field("multi-map"),
    queryStringParameters=Field("list-map"),
    body=Field("string"),
    isBase64Encoded=Field("boolean"),
    requestContext=Field("object", required=True, identity=Field("object")),
)


class VpcLatticeV2(AwsCodec):
    """A VPC Lattice event of structure version 2.0."""

    fields = staticmethod(lambda: _FIELDS)
    source = "vpc-lattice-v2"

    def __init__(self, options: CodecOptions) -> None:
        super().__init__(options)

    def decode(self, event: Any, context: Any) -> Request:
        try:
            found = headers_from_maps(None, event.get("headers"))
            headers = found.pairs
            server, scheme = server_from(found.host or "localhost", found.port, found.proto)
            raw = check_str(event["path"] or "/", "path")
            root_path, path = mount("", unquote_path(raw), self.options.base_path)
            client = None
            for name, value in headers:
                if name == "x-forwarded-for":
                    client = (value.split(",", 1)[0].strip(), 0)
                    break
            return Request(
                check_str(event["method"], "method"),
                path,
                query_string(None, event.get("queryStringParameters"), decoded=True),
                headers,
                decode_event_body(event.get("body"), event.get("isBase64Encoded")),
                root_path,
                scheme,
                server,
                client,
                raw.encode("utf-8"),
                event,
                context,
            )
        except READ_ERRORS as exc:
            raise self.malformed(event, exc) from exc

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        return encode_lattice(response, self.options)
