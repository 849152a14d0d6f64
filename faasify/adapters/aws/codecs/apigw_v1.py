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

from typing import Any

from faasify.adapters.aws.codecs._codec import READ_ERRORS, AwsCodec, CodecOptions
from faasify.adapters.aws.codecs._maps import (
    check_str,
    encode_v1_style,
    headers_from_maps,
    query_string,
)
from faasify.adapters.aws.codecs._schema import Field
from faasify.core.body import decode_event_body
from faasify.core.headers import origin
from faasify.core.http import Request, Response
from faasify.core.paths import mount, split_root, unquote_path

__all__ = ["ApiGatewayV1"]

_FIELDS = Field(
    "object",
    httpMethod=Field("string", required=True),
    path=Field("string", required=True),
    requestContext=Field(
        "object",
        domainName=Field("string"),
        stage=Field("string"),
        identity=Field("object", sourceIp=Field("string")),
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

    fields = _FIELDS

    def __init__(self, options: CodecOptions, *, http_api: bool, multi_value: bool) -> None:
        super().__init__(options)
        self.source = "http-api-v1" if http_api else "rest-v1"
        self._http_api = http_api
        self._multi_value = multi_value

    def decode(self, event: Any, context: Any) -> Request:
        try:
            ctx = event.get("requestContext") or {}
            headers = headers_from_maps(event.get("headers"), event.get("multiValueHeaders"))
            server, scheme = origin(headers, ctx.get("domainName") or "localhost")
            path: str = check_str(event["path"] or "/", "path")
            stage = ctx.get("stage") or ""
            root_path = ""
            raw_path = None
            if self._http_api:
                if stage and stage != "$default":
                    split = split_root(path, "/" + stage)
                    if split is not None:
                        root_path, path = split
            else:
                raw_path = path.encode("utf-8")
                path = unquote_path(path)
                if stage and ".execute-api." in server[0]:
                    root_path = "/" + stage
                    raw_path = root_path.encode("utf-8") + raw_path
            root_path, path = mount(root_path, path, self.options.base_path)
            source_ip = (ctx.get("identity") or {}).get("sourceIp")
            return Request(
                method=check_str(event["httpMethod"], "httpMethod"),
                path=path,
                query_string=query_string(
                    event.get("queryStringParameters"),
                    event.get("multiValueQueryStringParameters"),
                    decoded=True,
                ),
                headers=headers,
                body=decode_event_body(event.get("body"), event.get("isBase64Encoded")),
                root_path=root_path,
                scheme=scheme,
                server=server,
                client=(source_ip, 0) if source_ip else None,
                raw_path=raw_path,
                event=event,
                context=context,
            )
        except READ_ERRORS as exc:
            raise self.malformed(event, exc) from exc

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        return encode_v1_style(response, self.options, multi_value=self._multi_value, extra={})
