"""What ``import faasify`` adds to a cold start once the web framework is imported.

A user's handler module imports their framework anyway, so the cost that
faasify adds is the time of ``import faasify`` *on top of* the framework:
modules they share (``json``, ``logging``, and for ASGI apps ``asyncio``) are
already loaded and cost faasify nothing, while modules only faasify needs
are its own cost. Every sample is a fresh interpreter, as a cold start is.

Two figures per framework, from the same ``python -X importtime`` runs:

- *faasify import*: the cumulative time CPython's import profiler reports
  for the ``faasify`` package (precise, but excludes interpreter-level
  effects such as a larger heap);
- *wall delta*: the fastest ``import fw; import faasify`` process minus the
  fastest ``import fw`` one, the two run alternately (all effects included,
  interpreter teardown too). Noise on a busy machine only ever adds time,
  often tens of ms to one process, so the minimum is the least disturbed
  estimate where a median of differences is not; it stays coarser than the
  profiler's figure all the same.

Bytecode is cached in a private ``PYTHONPYCACHEPREFIX`` directory, for every
module alike: installed packages ship compiled, so compiling faasify from
source on each run (as ``PYTHONDONTWRITEBYTECODE=1`` would force) measures
the compiler, not the package. The cache is primed before timing.

Run ``python -m benchmarks.import_time`` to print the figures; ``make bench``
collects them too, through ``test_import_time.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FRAMEWORKS", "ImportSample", "bytecode_env", "run_once", "summarise"]

#: Report name -> the module a handler file of that framework imports first.
FRAMEWORKS: dict[str, str] = {
    "starlette": "starlette.applications",
    "fastapi": "fastapi",
    "flask": "flask",
}


@dataclass(frozen=True)
class ImportSample:
    """One fresh interpreter: its wall time and the profiler's cumulative µs per module."""

    wall_s: float
    cumulative_us: dict[str, int]


def bytecode_env(cache_dir: str) -> dict[str, str]:
    """The current environment with bytecode caching on, into ``cache_dir`` only.

    A prefix keeps the ``.pyc`` files out of the source tree (and out of
    site-packages), so measuring does not change the project.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def run_once(modules: Sequence[str], env: dict[str, str]) -> ImportSample:
    """Import ``modules`` in order in a fresh ``python -X importtime`` process."""
    code = "; ".join(f"import {module}" for module in modules)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    cumulative: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package"; the
        # package column is indented by nesting depth, so top level is flush.
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2][1:]
        if name and not name.startswith(" "):
            cumulative[name] = int(parts[1])
    return ImportSample(wall, cumulative)


def summarise(
    baseline: Sequence[ImportSample], with_faasify: Sequence[ImportSample]
) -> dict[str, float]:
    """Figures in milliseconds from interleaved baseline / with-faasify samples."""
    return {
        "faasify_import_ms": statistics.median(s.cumulative_us["faasify"] for s in with_faasify)
        / 1000,
        "wall_delta_ms": (min(s.wall_s for s in with_faasify) - min(s.wall_s for s in baseline))
        * 1000,
        "framework_wall_ms": statistics.median(s.wall_s for s in baseline) * 1000,
        "with_faasify_wall_ms": statistics.median(s.wall_s for s in with_faasify) * 1000,
        "runs": len(with_faasify),
    }


def measure(module: str, runs: int, env: dict[str, str]) -> dict[str, float]:
    """Prime the bytecode cache, then ``runs`` interleaved pairs of fresh interpreters."""
    run_once([module, "faasify"], env)
    baseline: list[ImportSample] = []
    with_faasify: list[ImportSample] = []
    for _ in range(runs):
        baseline.append(run_once([module], env))
        with_faasify.append(run_once([module, "faasify"], env))
    return summarise(baseline, with_faasify)


def main(argv: Sequence[str] | None = None) -> int:
    """Print, per framework, what importing faasify adds (ms)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="interleaved pairs per framework")
    args = parser.parse_args(argv)
    print(f"{'framework':<10} {'faasify import':>15} {'wall delta':>11} {'framework alone':>16}")
    with tempfile.TemporaryDirectory(prefix="faasify-pyc-") as cache_dir:
        env = bytecode_env(cache_dir)
        for name, module in FRAMEWORKS.items():
            result = measure(module, args.runs, env)
            added, delta = result["faasify_import_ms"], result["wall_delta_ms"]
            print(
                f"{name:<10} {added:>12.2f} ms {delta:>8.2f} ms"
                f" {result['framework_wall_ms']:>13.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
