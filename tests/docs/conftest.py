"""Fixtures of the docs tests: the servers a block needs, a wheel of this checkout."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docs.blocks import ROOT, Block
from tests.support.docs.runner import close_all

_SERVER_FIXTURES = {"postgres": "pg_url", "redis": "redis_url"}


@pytest.fixture
def servers_for(request: pytest.FixtureRequest) -> None:
    """The test servers a block needs, reachable (else the test skips with the reason)."""
    block: Block = request.node.callspec.params["block"]
    for name in block.needs:
        assert name in _SERVER_FIXTURES, f"{block.id}: unknown server {name!r} in needs:"
        request.getfixturevalue(_SERVER_FIXTURES[name])


@pytest.fixture(scope="module", autouse=True)
def _closed_at_the_end() -> Iterator[None]:
    """The handlers the blocks built live until the last block that may continue them."""
    yield
    close_all()


@pytest.fixture(scope="session")
def checkout_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, where ``--with faasify`` finds it (it is not on the index)."""
    wheels = tmp_path_factory.mktemp("checkout-wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return wheels
