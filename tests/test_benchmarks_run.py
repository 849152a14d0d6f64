"""The benchmark scripts still run against today's faasify (they reach into its
internals to attribute costs, and would otherwise rot silently)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """A benchmark script's run from the repository's root, its output captured."""
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_profile_invoke_attributes_an_invoke() -> None:
    completed = _run(
        [
            sys.executable,
            "-m",
            "benchmarks.profile_invoke",
            "starlette",
            "GET",
            "--invokes",
            "50",
            "--warmup",
            "5",
            "--top",
            "3",
            "--timing-number",
            "20",
        ]
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "== cProfile, faasify" in out
    assert "== in context: floor" in out
    for stage in ("decode (event -> Request)", "runner", "encode (Response -> result dict)"):
        assert stage in out
    assert "skipped" not in out


def test_the_ttfb_benchmark_measures_both_modes(tmp_path: Path) -> None:
    out = tmp_path / "ttfb.json"
    command = [sys.executable, "-m", "benchmarks.ttfb", "--mb", "0.5", "--requests", "2"]
    completed = _run([*command, "--json", str(out)])
    assert completed.returncode == 0, completed.stderr
    assert "| buffered |" in completed.stdout
    assert "| response-stream |" in completed.stdout
    assert "buffered TTFB / streamed TTFB = " in completed.stdout
    record = json.loads(out.read_text(encoding="utf-8"))
    assert set(record["results"]) == {"buffered", "response-stream"}
    assert (
        record["ratio"]
        == record["results"]["buffered"]["ttfb_ms"]
        / (record["results"]["response-stream"]["ttfb_ms"])
    )


def test_instruction_counts_run_for_one_shape() -> None:
    completed = _run(
        [
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--shapes",
            "rest-v1",
            "--apps",
            "flask",
            "--methods",
            "GET",
            "--candidates",
            "floor",
            "faasify",
        ]
    )
    assert completed.returncode == 0, completed.stderr
    (row,) = [line for line in completed.stdout.splitlines() if line.startswith("| rest-v1")]
    floor, ratio = (cell.strip() for cell in row.split("|")[3:5])
    assert int(floor.replace(",", "")) > 100_000  # a Flask GET is hundreds of thousands
    assert 1.0 < float(ratio.rstrip("x")) < 2.0


def test_the_suites_collect_from_their_folder() -> None:
    """``make bench`` runs ``pytest benchmarks/suites``: every suite imports its apps."""
    completed = _run([sys.executable, "-m", "pytest", "benchmarks/suites", "--collect-only", "-q"])
    assert completed.returncode == 0, completed.stdout + completed.stderr
    suites = {line.split("::", 1)[0] for line in completed.stdout.splitlines() if "::" in line}
    assert suites == {
        "benchmarks/suites/test_adapters.py",
        "benchmarks/suites/test_import_time.py",
        "benchmarks/suites/test_pools.py",
    }


def test_the_pool_profile_script_reads_its_candidates() -> None:
    completed = _run([sys.executable, "-m", "benchmarks.pool_profile", "--help"])
    assert completed.returncode == 0, completed.stderr
    assert "faasify+PostgresPool" in completed.stdout


@pytest.mark.nats
def test_the_async_queue_benchmark_loses_nothing_across_a_restart(
    tmp_path: Path, nats_url: str
) -> None:
    out = tmp_path / "async.json"
    command = [sys.executable, "-m", "benchmarks.async_queue", "--events", "40", "--rounds", "3"]
    completed = _run([*command, "--restart-seconds", "3", "--nats", nats_url, "--json", str(out)])
    assert completed.returncode == 0, completed.stderr
    assert "| in-process |" in completed.stdout
    assert "| NATS JetStream |" in completed.stdout
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["restart"]["lost"] == 0
    assert record["restart"]["accepted"] > 0
