"""Shared fixtures, and the rule that CI never skips a server-backed test.

Tests that need PostgreSQL or Redis carry the ``postgres`` or ``redis`` marker
and skip with a reason when the server is missing on a developer's machine.
Under CI (``CI=true``) such a skip is turned into a failure, so a broken
service can never make the suite pass by testing less.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parent / "events"
SERVER_MARKERS = ("postgres", "redis")


def load_event(name: str) -> dict[str, Any]:
    """A fixture event from tests/events/, by file name without ``.json``."""
    with open(EVENTS / f"{name}.json", encoding="utf-8") as file:
        event: dict[str, Any] = json.load(file)
    return event


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and any(item.get_closest_marker(m) for m in SERVER_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"server-backed test skipped under CI: {report.longrepr}"
