"""Every code block of README.md and docs/ runs, or is checked, as the page says.

One test per block (:mod:`tests.support.docs.runner` runs it); a block that fails names its
page and line. The blocks that build a deployment zip with dependencies from the
package index are in ``test_package_blocks.py``, so that the two halves can run on
two workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docs.blocks import ROOT, Block
from tests.support.docs.runner import BLOCKS, params, run_block


@pytest.mark.usefixtures("servers_for")
@pytest.mark.parametrize("block", params(installs=False))
def test_block(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    run_block(block, tmp_path, monkeypatch, request)


def test_every_page_is_covered() -> None:
    """The runner saw every page's blocks: a fence it cannot parse would hide a block."""
    fences = 0
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        fences += sum(1 for line in text.splitlines() if line.lstrip().startswith(("```", "~~~")))
    page_blocks = [b for b in BLOCKS if b.origin is None]
    assert fences == 2 * len(page_blocks)
    assert any(b.page == "docs/reference/baas.md" for b in BLOCKS)
