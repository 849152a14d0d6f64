"""Amazon VPC Lattice target groups, event structure version 1.0.

Version 1.0 (a target group's default) names its fields in snake case:
``raw_path``, ``method``, ``headers`` (a repeated header's values joined
into one string with ``", "``), ``query_string_parameters`` (a repeated
key keeps only its last value), ``body`` and ``is_base64_encoded``. There
is no ``requestContext``. Version 2.0 keeps every value; choose it for new
target groups.

The path is taken as the client sent it, percent-encoded; the query values
as decoded, and re-encoded once. The answer is the same as 2.0's.
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

__all__ = ["VpcLatticeV1"]

_FIELDS = Field(
    "object",
    method=Field("string", required=True),
    raw_path=Field("string", required=True),
    headers=Field("string-map"),
    query_string_parameters=Field("string-map"),
    body=Field("string"),
    is_base64_encoded=Field("boolean"),
)


class VpcLatticeV1(AwsCodec):
    """A VPC Lattice event of structure version 1.0."""

    fields = staticmethod(lambda: _FIELDS)
    source = "vpc-lattice-v1"

    def __init__(self, options: CodecOptions) -> None:
        super().__init__(options)

    def decode(self, event: Any, context: Any) -> Request:
        try:
            found = headers_from_maps(event.get("headers"), None)
            headers = found.pairs
            server, scheme = server_from(found.host or "localhost", found.port, found.proto)
            raw = check_str(event["raw_path"] or "/", "raw_path")
            root_path, path = mount("", unquote_path(raw), self.options.base_path)
            client = None
            for name, value in headers:
                if name == "x-forwarded-for":
                    client = (value.split(",", 1)[0].strip(), 0)
                    break
            return Request(
                check_str(event["method"], "method"),
                path,
                query_string(event.get("query_string_parameters"), None, decoded=True),
                headers,
                decode_event_body(event.get("body"), event.get("is_base64_encoded")),
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
