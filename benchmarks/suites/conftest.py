"""Benchmark settings sized for a small (2-core) machine, and the JSON output directory.

The defaults below replace pytest-benchmark's own only when the command line
does not set them, so ``--benchmark-max-time=3`` and friends still work for a
longer, quieter run. They aim at a full ``make bench`` in about a minute:

- ``min_time`` 100 µs per round, so a round holds several invokes of the
  fastest candidates and the timer's own cost (two ``perf_counter`` calls)
  stays far below 1 % of what is measured;
- ``max_time`` 1 s per benchmark, which gives thousands of rounds for every
  candidate here (invokes take 40-1,000 µs), plenty for a stable median;
- warmup on, up to 2,000 invokes, so that lazily built state (Starlette's
  middleware stack, FastAPI's dependency cache, CPython's specialising
  interpreter) is in place before the first timed round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# option dest -> (command-line flag, value as the flag's own parser would give it)
_SETTINGS: dict[str, tuple[str, Any]] = {
    "benchmark_min_time": ("--benchmark-min-time", "0.0001"),
    "benchmark_max_time": ("--benchmark-max-time", "1.0"),
    "benchmark_min_rounds": ("--benchmark-min-rounds", 20),
    "benchmark_warmup": ("--benchmark-warmup", True),
    "benchmark_warmup_iterations": ("--benchmark-warmup-iterations", 2000),
}


def _given(flag: str, args: tuple[str, ...]) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Apply the defaults before pytest-benchmark reads its options into its session."""
    args = tuple(str(arg) for arg in config.invocation_params.args)
    for dest, (flag, value) in _SETTINGS.items():
        if hasattr(config.option, dest) and not _given(flag, args):
            setattr(config.option, dest, value)
    # pytest-benchmark writes --benchmark-json at the very end and does not
    # create the directory; a fresh clone has no .benchmarks/ yet.
    json_path = getattr(config.option, "benchmark_json", None)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
