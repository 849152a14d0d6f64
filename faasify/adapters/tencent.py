"""Tencent Cloud SCF: event functions behind an API Gateway trigger.

With *integrated response* turned on for the trigger, API Gateway passes the
request as an event (``httpMethod``, ``path``, ``headers``, ``queryString``,
``body``, ``requestContext`` with ``sourceIp`` and ``stage``) and sends the
function's ``statusCode``, ``headers``, ``body`` and ``isBase64Encoded`` to
the client. On the gateway's own domain (``service-<id>-<appid>.<region>
.apigw.tencentcs.com``) the URL carries the environment (``/release``) that
``path`` leaves out: it becomes the root path there, so that links work; a
custom domain's URLs carry none.

SCF Web functions, which run an HTTP server of their own, need no adapter:
run the app with any server there.
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

__all__ = ["SCFFunction", "TencentCodec", "handler"]

#: The front door's name in faasify's log lines.
SOURCE = "tencent-scf"
#: The API Gateway domains on which URLs start with the environment's name.
GATEWAY_HOSTS = (".apigw.tencentcs.com", ".apigateway.myqcloud.com")

SCFFunction = EventFunction


class TencentCodec(GatewayEventCodec):
    """The codec for SCF's API Gateway trigger events (integrated response)."""

    def __init__(self, base_path: str = "", text_types: TextTypes | None = None) -> None:
        super().__init__(
            SOURCE,
            CodecOptions(text_types or TextTypes(), base_path),
            query_field="queryString",
            stage_hosts=GATEWAY_HOSTS,
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
) -> SCFFunction:
    """The SCF event function ``main_handler`` for ``app``, a WSGI or ASGI 3 app.

    ``main_handler = faasify.adapters.tencent.handler(app)`` at module scope,
    and the function's handler set to ``index.main_handler``. ``base_path``
    and ``text_mime_types`` are as for :func:`faasify.handler`, like the
    other options.
    """
    options = app_options(kind, lifespan, on_startup, on_shutdown, shutdown_timeout, handle_signals)
    codec = TencentCodec(
        check_base_path(base_path), TextTypes(check_text_mime_types(text_mime_types))
    )
    return EventFunction(app, codec, options)
