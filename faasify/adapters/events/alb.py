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

from typing import Any

from faasify.adapters._body import content_headers, decode_event_body, encode_response_body
from faasify.adapters.events._common import (
    EventOptions,
    check_str,
    headers_from_maps,
    join_root,
    query_from_raw,
    response_headers_multi,
    response_headers_single,
    server_and_scheme,
    status_description,
    unquote_path,
)
from faasify.adapters.events._source import EventSource
from faasify.adapters.http import Request, Response

__all__ = ["ApplicationLoadBalancer"]


class ApplicationLoadBalancer(EventSource):
    """An ALB event; ``multi_value`` mirrors the target group's setting."""

    def __init__(self, name: str, *, multi_value: bool) -> None:
        self.name = name
        self._multi_value = multi_value

    def decode(self, event: dict[str, Any], context: Any, options: EventOptions) -> Request:
        headers = headers_from_maps(event.get("headers"), event.get("multiValueHeaders"))
        server, scheme = server_and_scheme(headers)
        raw = event["path"] or "/"
        root_path, path = join_root("", unquote_path(raw), options)
        client = None
        for name, value in headers:
            if name == "x-forwarded-for":
                client = (value.split(",", 1)[0].strip(), 0)
                break
        return Request(
            method=check_str(event["httpMethod"], "httpMethod"),
            path=path,
            query_string=query_from_raw(
                event.get("queryStringParameters"), event.get("multiValueQueryStringParameters")
            ),
            headers=headers,
            body=decode_event_body(event.get("body"), event.get("isBase64Encoded")),
            root_path=root_path,
            scheme=scheme,
            server=server,
            client=client,
            raw_path=raw.encode("utf-8"),
            event=event,
            context=context,
        )

    def encode(self, response: Response, options: EventOptions) -> dict[str, Any]:
        content_type, content_encoding = content_headers(response.headers)
        body, is_base64 = encode_response_body(
            response.body, content_type, content_encoding, options.text_types
        )
        result: dict[str, Any] = {
            "statusCode": response.status,
            "statusDescription": status_description(response.status),
        }
        if self._multi_value:
            result["multiValueHeaders"] = response_headers_multi(response.headers)
        else:
            result["headers"] = response_headers_single(response.headers)
        result["body"] = body
        result["isBase64Encoded"] = is_base64
        return result
