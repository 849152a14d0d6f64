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

from faasify.core.hosted import HostedApp, detect_app_kind
from faasify.core.http import BAD_REQUEST, INTERNAL_ERROR, Request, Response
from faasify.core.instance import Instance, current_instance
from faasify.core.loop import Codec, Executor, RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
from faasify.core.parts import request_from_parts

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
