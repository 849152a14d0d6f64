"""Huawei Cloud FunctionGraph: event functions behind an APIG trigger.

API Gateway (APIG) passes the request as an event (``httpMethod``, ``path``,
``headers`` with lower-case names, ``queryStringParameters``, ``body``,
``isBase64Encoded``, ``requestContext`` with ``apiId``, ``requestId`` and
``stage``). The body is base64 by default (the API's
``x-apigateway-is-send-fg-body-base64`` setting) and decoded by the flag.
The function must answer ``statusCode``, ``headers``, ``body`` and
``isBase64Encoded``, which is what faasify returns. APIG's URLs carry no
stage, so ``path`` is the path the client asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faasify.adapters._event_function import EventFunction, app_options
from faasify.adapters._gateway_event import GatewayEventCodec
from faasify.adapters.aws.codecs._codec import CodecOptions
from faasify.core.body import TextTypes
from faasify.core.options import AppKind, Hook, LifespanMode, check_text_mime_types
from faasify.core.paths import check_base_path

__all__ = ["FunctionGraphFunction", "HuaweiCodec", "handler"]

#: The front door's name in faasify's log lines.
SOURCE = "huawei-functiongraph"

FunctionGraphFunction = EventFunction


class HuaweiCodec(GatewayEventCodec):
    """The codec for FunctionGraph's APIG trigger events."""

    def __init__(self, base_path: str = "", text_types: TextTypes | None = None) -> None:
        super().__init__(
            SOURCE,
            CodecOptions(text_types or TextTypes(), base_path),
            query_field="queryStringParameters",
        )


def handler(
    app: Any,
    *,
    base_path: str = "",
    text_mime_types: Iterable[str] = (),
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> FunctionGraphFunction:
    """The FunctionGraph handler for ``app``, a WSGI or ASGI 3 app.

    ``handler = faasify.adapters.huawei.handler(app)`` at module scope, and
    the function's handler set to ``index.handler``. ``base_path`` (an APIG
    path prefix to move into the root path) and ``text_mime_types`` are as
    for :func:`faasify.handler`, like the other options.
    """
    options = app_options(kind, lifespan, on_startup, on_shutdown, shutdown_timeout, handle_signals)
    codec = HuaweiCodec(
        check_base_path(base_path), TextTypes(check_text_mime_types(text_mime_types))
    )
    return EventFunction(app, codec, options)
