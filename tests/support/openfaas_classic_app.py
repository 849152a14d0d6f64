"""A classic-watchdog function process, for the subprocess tests.

``python -m tests.support.openfaas_classic_app <app>`` is what ``fprocess``
would run: it answers the one request in its stdin and ``Http_*`` variables.
``<app>`` is ``flask``, ``fastapi``, ``noisy`` (a WSGI app that prints to
stdout and stderr, which must not reach the response body) or ``raising`` (a
WSGI app whose exception escapes it, for faasify's generic 500).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from faasify.adapters.openfaas import run_classic
from tests.support.apps import fastapi_app, flask_app


def noisy_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    print("stray print from the app")
    print("stray stderr from the app", file=sys.stderr)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"clean body"]


def raising_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise RuntimeError("secret detail")


APPS: dict[str, Callable[[], Any]] = {
    "flask": flask_app,
    "fastapi": fastapi_app,
    "noisy": lambda: noisy_app,
    "raising": lambda: raising_app,
}

if __name__ == "__main__":
    raise SystemExit(run_classic(APPS[sys.argv[1]]()))
