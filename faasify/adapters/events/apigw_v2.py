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

from typing import Any

from faasify.adapters._body import decode_event_body, encode_response_body
from faasify.adapters.events._common import (
    EventOptions,
    check_str,
    join_root,
    server_and_scheme,
    split_root,
    unquote_path,
)
from faasify.adapters.events._source import EventSource
from faasify.adapters.http import Request, Response

__all__ = ["ApiGatewayV2"]


class ApiGatewayV2(EventSource):
    """Payload format 2.0, for HTTP APIs and (``function_url=True``) Function URLs."""

    def __init__(self, name: str, *, function_url: bool) -> None:
        self.name = name
        self._function_url = function_url

    def decode(self, event: dict[str, Any], context: Any, options: EventOptions) -> Request:
        ctx = event["requestContext"]
        http = ctx["http"]
        headers = [(name.lower(), value) for name, value in (event.get("headers") or {}).items()]
        for name, value in headers:
            if type(value) is not str or type(name) is not str:
                raise TypeError("header names and values must be strings")
        cookies = event.get("cookies")
        if cookies:
            headers.append(("cookie", "; ".join(cookies)))
        server, scheme = server_and_scheme(headers, ctx.get("domainName") or "localhost")
        path: str = event.get("rawPath") or http["path"] or "/"
        raw_path = None
        root_path = ""
        if self._function_url:
            raw_path = path.encode("utf-8")
            path = unquote_path(path)
        else:
            stage = ctx.get("stage")
            if stage and stage != "$default":
                split = split_root(path, "/" + stage)
                if split is not None:
                    root_path, path = split
        root_path, path = join_root(root_path, path, options)
        source_ip = http.get("sourceIp")
        query = event.get("rawQueryString") or ""
        return Request(
            method=check_str(http["method"], "requestContext.http.method"),
            path=path,
            query_string=query.encode("ascii") if query.isascii() else query.encode("utf-8"),
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

    def encode(self, response: Response, options: EventOptions) -> dict[str, Any]:
        body, is_base64 = encode_response_body(response, options.text_types)
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in response.headers:
            key = name.lower()
            if key == "set-cookie":
                cookies.append(value)
            elif key in headers:
                headers[key] = f"{headers[key]}, {value}"
            else:
                headers[key] = value
        result: dict[str, Any] = {"statusCode": response.status, "headers": headers}
        if cookies:
            result["cookies"] = cookies
        result["body"] = body
        result["isBase64Encoded"] = is_base64
        return result
