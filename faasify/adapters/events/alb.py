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

from faasify.adapters._body import decode_event_body
from faasify.adapters.events._common import (
    EventOptions,
    check_str,
    encode_v1_style,
    headers_from_maps,
    join_root,
    query_string,
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
            query_string=query_string(
                event.get("queryStringParameters"),
                event.get("multiValueQueryStringParameters"),
                decoded=False,
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
        return encode_v1_style(
            response,
            options,
            multi_value=self._multi_value,
            extra={"statusDescription": status_description(response.status)},
        )
