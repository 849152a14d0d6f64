"""The API-Gateway-1.0-like events of Tencent SCF and Huawei FunctionGraph.

Both gateways hand a function ``httpMethod``, ``path``, ``headers`` (one value
per name), a map of query values, ``body`` with an ``isBase64Encoded`` flag
and a ``requestContext``, and take ``statusCode``, ``headers``, ``body`` and
``isBase64Encoded`` back: the shape of AWS's REST proxy events without the
multi-value maps. The pieces are the AWS codecs' (header and query maps, the
1.0-style answer), so the rules are the same everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from faasify._exceptions import MalformedEventError
from faasify.adapters.aws.codecs._codec import READ_ERRORS, CodecOptions
from faasify.adapters.aws.codecs._maps import (
    check_str,
    encode_v1_style,
    headers_from_maps,
    query_string,
)
from faasify.adapters.aws.codecs._schema import Field, diagnose
from faasify.core.body import decode_event_body
from faasify.core.headers import server_from
from faasify.core.http import Request, Response
from faasify.core.paths import mount, unquote_path

__all__ = ["GatewayEventCodec"]

# Framing headers the gateways compute themselves.
_DROPPED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class GatewayEventCodec:
    """One gateway's event in, its ``statusCode``/``headers``/``body`` answer out.

    ``query_field`` names the map of query values; ``stage_hosts`` are the
    gateway's own domains, on which the URL carries the stage (``/release``)
    that ``path`` leaves out, so that it becomes the root path there.
    """

    def __init__(
        self,
        source: str,
        options: CodecOptions,
        *,
        query_field: str,
        stage_hosts: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self._options = options
        self._query_field = query_field
        self._stage_hosts = stage_hosts
        self._fields = Field(
            "object",
            httpMethod=Field("string", required=True),
            path=Field("string", required=True),
            headers=Field("string-map"),
            body=Field("string"),
            isBase64Encoded=Field("boolean"),
            requestContext=Field("object", sourceIp=Field("string"), stage=Field("string")),
        )
        self._fields.fields[query_field] = Field("list-map")

    def decode(self, event: Any, context: Any) -> Request:
        if isinstance(event, (bytes, bytearray, str)):
            try:
                event = json.loads(event)
            except (ValueError, RecursionError) as exc:
                raise MalformedEventError(
                    f"the event is not JSON: {exc}", source=self.source
                ) from None
        try:
            ctx = event.get("requestContext") or {}
            found = headers_from_maps(event.get("headers"), None)
            headers = found.pairs
            server, scheme = server_from(found.host or "localhost", found.port, found.proto)
            raw = check_str(event["path"] or "/", "path")
            root_path = ""
            stage = ctx.get("stage")
            if stage and self._stage_hosts and server[0].endswith(self._stage_hosts):
                root_path = "/" + stage
            root_path, path = mount(root_path, unquote_path(raw), self._options.base_path)
            source_ip = ctx.get("sourceIp")
            if not source_ip:
                for name, value in headers:
                    if name == "x-forwarded-for":
                        source_ip = value.split(",", 1)[0].strip()
                        break
            return Request(
                check_str(event["httpMethod"], "httpMethod"),
                path,
                query_string(event.get(self._query_field), None, decoded=True),
                headers,
                decode_event_body(event.get("body"), event.get("isBase64Encoded")),
                root_path,
                scheme,
                server,
                (source_ip, 0) if source_ip else None,
                (root_path + raw).encode("utf-8") if root_path else raw.encode("utf-8"),
                event,
                context,
            )
        except MalformedEventError as exc:
            if not exc.source:
                exc.source = self.source
            raise
        except READ_ERRORS as exc:
            problem = diagnose(self._fields, event, self.source)
            if problem is None:
                raise
            raise problem from exc

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        kept = [(n, v) for n, v in response.headers if n.lower() not in _DROPPED]
        return encode_v1_style(
            Response(response.status, kept, response.body),
            self._options,
            multi_value=False,
            extra={},
        )
