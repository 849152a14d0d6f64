"""The front doors beside AWS that ``faasify event`` and ``faasify invoke`` speak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faasify.local.platform_events import PLATFORM_FORMATS

__all__ = ["PLATFORM_FORMATS", "platform_factory"]


def platform_factory(event_format: str) -> Callable[[Any], Any]:
    """The factory that wraps an app for ``event_format``'s platform."""
    if event_format in ("openwhisk", "digitalocean"):
        from faasify.adapters.openwhisk import handler as web_action

        return lambda app: web_action(app)
    if event_format == "tencent-scf":
        from faasify.adapters.tencent import handler as scf

        return lambda app: scf(app)
    from faasify.adapters.huawei import handler as functiongraph

    return lambda app: functiongraph(app)
