"""What ``import faasify`` and building a handler leave for later, pinned.

A cold start pays for every module imported and every class built, so the
handler's cold path imports only what every invoke needs: the exceptions'
module waits for the first error, each event shape's codec for the first event
of that shape. Each check runs in a fresh interpreter, whose ``sys.modules``
says what was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: Imported by the first event of their shape, or the first error, never at build.
DEFERRED = {
    "faasify._exceptions",
    "faasify._version",
    "faasify.adapters.aws.codecs._codec",
    "faasify.adapters.aws.codecs._maps",
    "faasify.adapters.aws.codecs.alb",
    "faasify.adapters.aws.codecs.apigw_v1",
    "faasify.adapters.aws.codecs.apigw_v2",
    "faasify.adapters.aws.codecs.cloudfront",
    "faasify.adapters.aws.codecs.lattice_v1",
    "faasify.adapters.aws.codecs.lattice_v2",
    "faasify.core.body",
    "faasify.core.headers",
    "faasify.core.paths",
}

#: A minimal HTTP API (2.0) event, written out: the event builders import more.
HTTP_API_V2 = {
    "version": "2.0",
    "rawPath": "/echo/x",
    "rawQueryString": "",
    "headers": {"host": "example.com"},
    "requestContext": {"http": {"method": "GET", "path": "/echo/x"}, "domainName": "example.com"},
    "isBase64Encoded": False,
}


def _imported(app: str, event: str | None = None) -> set[str]:
    """The modules faasify added to a fresh interpreter by building a handler for
    ``app`` or, given an ``event`` (a Python expression), by then answering it."""
    script = f"""
import json, sys
from tests.support.apps import {app}
app = {app}()
before = set(sys.modules)
import faasify
handler = faasify.handler(app, handle_signals=False)
if {event!r} is not None:
    before = set(sys.modules)
    result = handler({event}, None)
    print(json.dumps(result["statusCode"]))
handler.close()
print(json.dumps(sorted(set(sys.modules) - before)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    if event is not None:
        assert json.loads(lines[-2]) == (400 if "malformed" in event else 200)
    return set(json.loads(lines[-1]))


@pytest.mark.parametrize("app", ["starlette_app", "flask_app"])
def test_building_a_handler_leaves_codecs_and_exceptions_for_later(app: str) -> None:
    imported = _imported(app)
    assert "faasify.adapters.aws.handler" in imported
    assert imported & DEFERRED == set()


def test_the_first_event_imports_its_own_codec_only() -> None:
    imported = _imported("starlette_app", repr(HTTP_API_V2))
    assert "faasify.adapters.aws.codecs.apigw_v2" in imported
    for other in ("alb", "apigw_v1", "cloudfront", "lattice_v1", "lattice_v2"):
        assert f"faasify.adapters.aws.codecs.{other}" not in imported
    assert "faasify._exceptions" not in imported  # nothing failed


def test_a_malformed_event_imports_the_exceptions_and_is_answered_400() -> None:
    malformed = {**HTTP_API_V2, "headers": {"host": 3}, "malformed": True}
    assert "faasify._exceptions" in _imported("starlette_app", repr(malformed))
