"""``import faasify`` on top of an already imported framework, in fresh interpreters.

pytest-benchmark times each ``import fw; import faasify`` process; the
matching ``import fw`` process runs untimed in ``setup`` just before it, so
the two alternate and drift on a busy machine affects both alike. The figures
the report uses (see :mod:`benchmarks.import_time`) go into ``extra_info``.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.import_time import FRAMEWORKS, ImportSample, bytecode_env, run_once, summarise

#: Interleaved pairs per framework: about 5 s each on a 2-core machine.
RUNS = 15


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A bytecode cache shared by every run of the module (primed per framework)."""
    return bytecode_env(str(tmp_path_factory.mktemp("pyc")))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_import_time(benchmark: BenchmarkFixture, framework: str, env: dict[str, str]) -> None:
    """Wall time of a fresh ``import <framework>; import faasify``."""
    module = FRAMEWORKS[framework]
    run_once([module, "faasify"], env)  # compile and cache every module once
    baseline: list[ImportSample] = []
    with_faasify: list[ImportSample] = []

    def setup() -> None:
        baseline.append(run_once([module], env))

    def target() -> None:
        with_faasify.append(run_once([module, "faasify"], env))

    benchmark.group = "import"
    # pytest-benchmark leaves pedantic() unannotated.
    benchmark.pedantic(target, setup=setup, rounds=RUNS)  # type: ignore[no-untyped-call]
    assert all("faasify" in sample.cumulative_us for sample in with_faasify)
    benchmark.extra_info.update(framework=framework, **summarise(baseline, with_faasify))
