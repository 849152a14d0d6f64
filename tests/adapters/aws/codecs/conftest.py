"""One handler's codecs, as the Lambda handler builds them, for the per-shape tests."""

from __future__ import annotations

import pytest

from faasify.adapters.aws.codecs import AwsCodecs, CodecOptions
from faasify.core.body import TextTypes


@pytest.fixture
def codecs() -> AwsCodecs:
    return AwsCodecs(CodecOptions(TextTypes()))


@pytest.fixture
def api_codecs() -> AwsCodecs:
    """Codecs for a handler built with ``base_path="/api"``."""
    return AwsCodecs(CodecOptions(TextTypes(), "/api"))
