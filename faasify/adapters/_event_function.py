"""What a platform that calls ``handler(event, context)`` with a JSON event needs.

OpenWhisk, DigitalOcean, Tencent SCF and Huawei FunctionGraph all import the
function's module once per instance and call a handler with the request as a
JSON object, expecting a JSON object back. :class:`EventFunction` is that
handler for any codec: the app started once (:class:`~faasify.core.HostedApp`),
the one request loop per call, ``close()`` for the app's shutdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from faasify.core.hosted import HostedApp
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode

if TYPE_CHECKING:
    from faasify.core.codec import Codec

__all__ = ["EventFunction", "app_options"]


def app_options(
    kind: AppKind,
    lifespan: LifespanMode,
    on_startup: Iterable[Hook],
    on_shutdown: Iterable[Hook],
    shutdown_timeout: float,
    handle_signals: bool,
) -> AppOptions:
    """The shared options of a platform factory, checked by :class:`AppOptions`."""
    return AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )


class EventFunction:
    """``handler(event, context) -> dict`` for one app behind one codec.

    Build it at module scope, so that the app starts when the platform
    imports the module (its cold start) and every warm call reuses it.
    """

    def __init__(self, app: Any, codec: Codec, options: AppOptions) -> None:
        self.hosted = HostedApp(app, options)
        self.app = app
        self.kind = self.hosted.kind
        self.codec = codec
        self._loop = RequestLoop(self.hosted, codec=codec)

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self._loop(event, context)
        return result

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once; see :meth:`HostedApp.close`."""
        self.hosted.close(timeout)
