"""The docs' ``faasify package`` commands that install dependencies, run as written.

Each installs wheels for Lambda from the package index and writes a zip (under the
test's temporary directory); a command the deploy guides repeat from the Packaging
page is built once. See ``test_blocks.py`` for every other block.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docs.blocks import Block
from tests.support.docs.runner import params, run_block


@pytest.mark.usefixtures("servers_for")
@pytest.mark.parametrize("block", params(installs=True))
def test_package_block(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    run_block(block, tmp_path, monkeypatch, request)
