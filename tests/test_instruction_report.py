"""The instruction tables are written from one run's counts, and mark what looks too good."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.instruction_report import END, START, block, rewrite


def _count(candidate: str, per: float | None, app: str = "flask") -> dict[str, Any]:
    return {
        "app": app,
        "method": "GET",
        "shape": "http-api-v2",
        "candidate": candidate,
        "per_invoke": per,
        "error": None if per is not None else "AssertionError: status 500",
    }


def test_ratios_are_to_the_floor_and_the_best_is_bold() -> None:
    counts = [_count("floor", 100.0), _count("faasify", 110.0), _count("apig-wsgi", 120.0)]
    rows = [line for line in block(counts, None) if line.startswith("| http-api-v2")]
    assert rows == ["| http-api-v2 | flask GET | **1.100x** |  |  | 1.200x |  | ≤1.10x |"]


def test_a_ratio_below_the_floor_is_marked_and_explained() -> None:
    counts = [_count("floor", 100.0, "starlette"), _count("faasify", 98.0, "starlette")]
    lines = block(counts, None)
    assert any("0.980x†" in line for line in lines)
    assert any(line.startswith("† Below the bare app") for line in lines)
    plain = block([_count("floor", 100.0), _count("faasify", 101.0)], None)
    assert not any("†" in line for line in plain)


def test_a_failing_candidate_says_so_and_the_cold_start_line_follows() -> None:
    counts = [_count("floor", 100.0), _count("faasify", 105.0), _count("serverless-wsgi", None)]
    lines = block(counts, {"flask": {"faasify": 12_300_000, "apig-wsgi": 3_400_000}})
    assert "fails" in next(line for line in lines if line.startswith("| http-api-v2"))
    assert any("flask: faasify 12.3M, apig-wsgi 3.4M" in line for line in lines)


def test_rewrite_replaces_only_what_lies_between_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"before\n{START}\nold\n{END}\nafter\n")
    assert rewrite(page, ["new", ""])
    assert page.read_text() == f"before\n{START}\nnew\n{END}\nafter\n"
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    assert not rewrite(bare, ["x"])
