"""The answer both VPC Lattice event versions expect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faasify.adapters.aws.codecs._maps import response_headers_single
from faasify.core.body import content_headers, encode_response_body
from faasify.core.http import Response

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._codec import CodecOptions

__all__ = ["encode_lattice"]

# Lattice honours no hop-by-hop header and computes Content-Length itself.
_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


def encode_lattice(response: Response, options: CodecOptions) -> dict[str, Any]:
    """``statusCode``, ``headers`` (one value per name), ``body``, ``isBase64Encoded``.

    Several ``Set-Cookie`` headers go under differently-cased names, as for
    ALB without multi-value headers: a JSON object holds each name once.
    """
    headers = [(n, v) for n, v in response.headers if n.lower() not in _DROPPED]
    content_type, content_encoding = content_headers(headers)
    body, is_base64 = encode_response_body(
        response.body, content_type, content_encoding, options.text_types
    )
    return {
        "statusCode": response.status,
        "headers": response_headers_single(headers),
        "body": body,
        "isBase64Encoded": is_base64,
    }
