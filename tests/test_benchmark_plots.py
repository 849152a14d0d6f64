"""``python -m benchmarks.plots``: every figure and table from the benchmarks' JSON.

Small JSON documents in the benchmarks' own formats go in; the PNGs, the
generated block of the benchmarks page and the table page come out, and a
figure whose data is missing keeps what the page showed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import plots


def _bench(group: str, candidate: str, median: float, **extra: Any) -> dict[str, Any]:
    return {
        "group": group,
        "name": f"test[{candidate}]",
        "param": candidate,
        "extra_info": {"candidate": candidate, **extra},
        "options": {},
        "stats": {"median": median, "iqr": median / 10, "rounds": 100},
    }


ADAPTERS = {
    "machine_info": {"python_version": "3.11.7", "cpu": {"brand_raw": "Test CPU"}},
    "commit_info": {"id": "0123456789abcdef"},
    "datetime": "2026-11-30T12:00:00+00:00",
    "benchmarks": [
        _bench("flask GET", "floor", 100e-6),
        _bench("flask GET", "faasify", 115e-6),
        _bench("flask GET", "apig-wsgi", 120e-6),
        _bench("db ping", "floor", 100e-6),
        _bench("db ping", "faasify+PostgresPool", 200e-6),
        {
            **_bench("import", "import", 0.4),
            "extra_info": {
                "framework": "flask",
                "faasify_import_ms": 2.5,
                "wall_delta_ms": 3.0,
                "framework_wall_ms": 250.0,
                "with_faasify_wall_ms": 253.0,
                "runs": 15,
            },
        },
    ],
}
PROCESS_MODELS = {
    "command": "python -m benchmarks.process_models --json x",
    "date": "2026-11-30",
    "machine": "2 CPUs, Linux",
    "python": "3.11.7",
    "rows": [
        {
            "model": "resident",
            "requests": 100,
            "median_ms": 2.0,
            "p99_ms": 3.0,
            "cold_starts": 1,
            "connections_per_1000": 10,
        },
        {
            "model": "per-request",
            "requests": 10,
            "median_ms": 500.0,
            "p99_ms": 800.0,
            "cold_starts": 10,
            "connections_per_1000": 1000,
        },
    ],
}


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text(
        f"# Benchmarks\n\nintro\n\n{plots.START}\nstale figures\n{plots.END}\n\nafter\n",
        encoding="utf-8",
    )
    return docs


def test_every_figure_is_drawn_from_its_json(tmp_path: Path) -> None:
    data = tmp_path / "bench"
    data.mkdir()
    (data / "adapters.json").write_text(json.dumps(ADAPTERS), encoding="utf-8")
    (data / "process_models.json").write_text(json.dumps(PROCESS_MODELS), encoding="utf-8")
    docs = _docs(tmp_path)
    assert plots.main(["--benchmarks-dir", str(data), "--docs", str(docs)]) == 0
    for png in ("bench-adapters", "bench-pools", "bench-import", "bench-process-models"):
        assert (docs / "img" / f"{png}.png").read_bytes().startswith(b"\x89PNG")
    assert not (docs / "img" / "bench-baas-load.png").exists()  # no baas_load.json
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")
    assert page.startswith("# Benchmarks\n\nintro\n")
    assert page.endswith("\n\nafter\n")
    assert "stale figures" not in page
    assert "| **faasify** | 1.15x |" in page  # a ratio to the floor, not a time alone
    assert "| per-request | 10 | 500.00 | 800.00 | 10 | 1000 | 250x |" in page
    assert "command: make bench" in page
    assert "Test CPU" in page
    assert "Command:" in (docs / "benchmarks-table.md").read_text(encoding="utf-8")


def test_a_figure_without_data_keeps_what_the_page_showed(tmp_path: Path) -> None:
    data = tmp_path / "bench"
    data.mkdir()
    (data / "process_models.json").write_text(json.dumps(PROCESS_MODELS), encoding="utf-8")
    docs = _docs(tmp_path)
    plots.main(["--benchmarks-dir", str(data), "--docs", str(docs)])
    (data / "process_models.json").unlink()
    plots.main(["--benchmarks-dir", str(data), "--docs", str(docs)])
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")
    assert page.count("### Resident vs per-request") == 1
    assert "img/bench-process-models.png" in page
