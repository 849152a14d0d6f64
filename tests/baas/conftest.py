"""The data service's tests clean up what they leave in the shared PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.baas.shared import drop_key_tables


@pytest.fixture(autouse=True)
def drop_idempotency_tables() -> Iterator[None]:
    """Each test service keeps its idempotency keys in a table of its own; drop them."""
    yield
    drop_key_tables()
