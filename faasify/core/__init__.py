"""The platform-neutral core that every front door shares.

What a front door needs to serve an app, and nothing platform-specific:

- the neutral HTTP model, :class:`Request` and :class:`Response`;
- :class:`HostedApp`: an app's instance life (kind, lifespan once per
  instance, runner on the instance's one loop, shutdown once);
- :class:`Instance`: the process's loop and ordered shutdown;
- :class:`RequestLoop` and :class:`Codec`: the one per-request loop, and the
  interface a front door implements to use it;
- :class:`AppOptions`: the shared options, checked in one place;
- helpers for headers (:mod:`faasify.core.headers`), base paths
  (:mod:`faasify.core.paths`), bodies (:mod:`faasify.core.body`) and log
  lines (:mod:`faasify.core.log`).

A function author needs none of this: :func:`faasify.handler` and the
platform factories in :mod:`faasify.adapters` build it. See the architecture
page of the docs for the picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "BAD_REQUEST",
    "INTERNAL_ERROR",
    "AppKind",
    "AppOptions",
    "Codec",
    "Executor",
    "Hook",
    "HostedApp",
    "Instance",
    "LifespanMode",
    "Request",
    "RequestLoop",
    "Response",
    "current_instance",
    "detect_app_kind",
    "request_from_parts",
]

# What each name is, loaded on first use: importing one module of the core
# (faasify.core.headers, say) costs no more than that module.
_HOMES = {
    "BAD_REQUEST": "faasify.core.http",
    "INTERNAL_ERROR": "faasify.core.http",
    "Request": "faasify.core.http",
    "Response": "faasify.core.http",
    "AppKind": "faasify.core.options",
    "AppOptions": "faasify.core.options",
    "Hook": "faasify.core.options",
    "LifespanMode": "faasify.core.options",
    "Codec": "faasify.core.codec",
    "Executor": "faasify.core.codec",
    "HostedApp": "faasify.core.hosted",
    "detect_app_kind": "faasify.core.hosted",
    "Instance": "faasify.core.instance",
    "current_instance": "faasify.core.instance",
    "RequestLoop": "faasify.core.loop",
    "request_from_parts": "faasify.core.parts",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'faasify.core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from faasify.core.codec import Codec, Executor
    from faasify.core.hosted import HostedApp, detect_app_kind
    from faasify.core.http import BAD_REQUEST, INTERNAL_ERROR, Request, Response
    from faasify.core.instance import Instance, current_instance
    from faasify.core.loop import RequestLoop
    from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
    from faasify.core.parts import request_from_parts
