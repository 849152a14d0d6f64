"""AWS Signature Version 4 for one request, header-signed, from the standard library.

The ``@connections`` management API takes IAM-signed requests only. boto3
signs them when it is installed (it is on AWS's Python runtimes); this
module signs them where it is not (a container image, a slim zip), with the
function's own credentials from the environment. It implements exactly what
a header-signed request needs (AWS's "Create a signed AWS API request"):

- the canonical URI: the path as it goes on the wire, dot segments and
  repeated slashes removed, each segment URI-encoded once more (so ``%40``
  becomes ``%2540``; S3 alone is exempt, and is not a client of this module);
- the canonical query: each name and value decoded, encoded with RFC 3986's
  unreserved set, the pairs sorted;
- the canonical headers: names lower-cased and sorted, values trimmed with
  inner runs of spaces made one, repeated names joined with ``,``;
- the payload's SHA-256, the string to sign, the derived key, the signature.

It is checked against AWS's published SigV4 test suite (the vectors in
``tests/adapters/aws/websocket/test_sigv4.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from urllib.parse import quote, unquote

__all__ = ["Credentials", "canonical_request", "sign_headers"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"


class Credentials:
    """An access key, its secret and, for temporary credentials, the session token."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token

    def __repr__(self) -> str:
        return f"<Credentials {self.access_key}>"  # never the secret


def _encode(text: str, safe: str = "") -> str:
    return quote(text, safe=_UNRESERVED + safe)


def _normalized(path: str) -> str:
    """The path with ``.``/``..`` segments resolved and empty segments dropped."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    result = "/" + "/".join(segments)
    if segments and path.endswith(("/", "/.", "/..")):
        result += "/"
    return result


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _trimmed(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    payload_hash: str,
    *,
    normalize: bool = True,
) -> tuple[str, str]:
    """``(canonical request, signed header names)`` for a request as it goes on the wire.

    ``path`` and ``query`` are the request target's, as sent (``query``
    without ``?``); every header in ``headers`` is signed.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(_trimmed(value))
    names = sorted(grouped)
    lines = "".join(f"{name}:{','.join(grouped[name])}\n" for name in names)
    signed = ";".join(names)
    uri = _encode(_normalized(path) if normalize else path, safe="/")
    return (
        "\n".join((method.upper(), uri, _canonical_query(query), lines, signed, payload_hash)),
        signed,
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sign_headers(
    method: str,
    host: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    credentials: Credentials,
    *,
    region: str,
    service: str,
    amz_date: str | None = None,
    sign_body: bool = False,
    normalize: bool = True,
) -> list[tuple[str, str]]:
    """Every header the request must carry, ``Authorization`` last.

    ``headers`` are the request's own (without ``Host``, which is ``host``);
    ``amz_date`` (``20150830T123600Z``) defaults to now. ``sign_body`` adds
    ``X-Amz-Content-Sha256``, as S3-style services want.
    """
    if amz_date is None:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    payload_hash = hashlib.sha256(body).hexdigest()
    out = [("Host", host), *headers, ("X-Amz-Date", amz_date)]
    if sign_body:
        out.append(("X-Amz-Content-Sha256", payload_hash))
    if credentials.token:
        out.append(("X-Amz-Security-Token", credentials.token))
    creq, signed = canonical_request(method, path, query, out, payload_hash, normalize=normalize)
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        (_ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest())
    )
    key = _hmac(("AWS4" + credentials.secret_key).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out.append(
        (
            "Authorization",
            f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}",
        )
    )
    return out
