"""``python -m benchmarks.plots``: every figure and table from the benchmarks' JSON.

Small JSON documents in the benchmarks' own formats go in; the PNGs, the
generated block of the benchmarks page and the table page come out, and a
figure whose data is missing keeps what the page showed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks import plots, report


def _bench(group: str, candidate: str, median: float, **extra: Any) -> dict[str, Any]:
    return {
        "group": group,
        "name": f"test[{candidate}]",
        "param": candidate,
        "extra_info": {"candidate": candidate, **extra},
        "options": {},
        "stats": {"median": median, "iqr": median / 10, "rounds": 100},
    }


ADAPTERS: dict[str, Any] = {
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
    assert plots.main(_args(data, docs, _readme(tmp_path))) == 0
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
    docs, readme = _docs(tmp_path), _readme(tmp_path)
    plots.main(_args(data, docs, readme))
    (data / "process_models.json").unlink()
    plots.main(_args(data, docs, readme))
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")
    assert page.count("### Resident vs per-request") == 1
    assert "img/bench-process-models.png" in page


# -- ratios under the floor ---------------------------------------------------------------


def _adapters_with(faasify_us: float, *, floor_iqr_us: float = 18.7) -> dict[str, Any]:
    """A run where faasify took ``faasify_us`` µs on a 100 µs ``starlette GET`` floor."""
    floor = _bench("starlette GET", "floor", 100e-6)
    floor["stats"]["iqr"] = floor_iqr_us * 1e-6
    return {
        **ADAPTERS,
        "benchmarks": [
            *ADAPTERS["benchmarks"],
            floor,
            _bench("starlette GET", "faasify", faasify_us * 1e-6),
            _bench("starlette GET", "mangum-off", 120e-6),
        ],
    }


def test_a_ratio_under_the_floor_is_marked_and_explained_in_the_report() -> None:
    page = report.render(_adapters_with(93.0))
    assert "| **faasify** | 93.0 | 0.93x† |" in page  # the group's own table
    assert "| **faasify** | 0.93x† |" in page  # the summary
    assert "faasify at 0.93x in `starlette GET` is below the floor" in page
    assert "IQR of 18.7 µs (19%)" in page  # the spread that explains it
    assert "target <= 1.10x: not measured (below the floor, see the note)" in page
    # At or above the floor nothing is marked.
    fair = report.render(_adapters_with(104.0))
    assert "†" not in fair
    assert "1.04x" in fair
    assert report.below_floor(_adapters_with(104.0)["benchmarks"]) == []


def test_a_ratio_under_the_floor_reaches_no_page_without_its_note(tmp_path: Path) -> None:
    data = tmp_path / "bench"
    data.mkdir()
    (data / "adapters.json").write_text(json.dumps(_adapters_with(93.0)), encoding="utf-8")
    docs, readme = _docs(tmp_path), _readme(tmp_path)
    assert plots.main(_args(data, docs, readme)) == 0
    for text in (
        (docs / "benchmarks.md").read_text(encoding="utf-8"),
        readme.read_text(encoding="utf-8"),
        (docs / "benchmarks-table.md").read_text(encoding="utf-8"),
    ):
        quoted = [line for line in text.splitlines() if "0.93x" in line]
        assert quoted
        # Each figure carries the mark, or is the note (which starts with it).
        for line in quoted:
            assert "0.93x†" in line or line.lstrip("- ").startswith("†"), line
        assert any(line.lstrip("- ").startswith("†") and "noise" in line for line in quoted)
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")
    assert "Not measured in this run: `starlette GET` (0.93x)" in page
    # The summary's range leaves the unmeasured group out.
    assert "faasify took 1.15x the bare app's time over 1 groups" in page


# -- README's comparison: the docs' run, every time -----------------------------------------

BAAS_LOAD = {
    "command": "python -m benchmarks.baas_load --instances 50 200 --json x",
    "date": "2026-12-02",
    "machine": "2 CPUs, Linux",
    "python": "3.11.7",
    "rows": [
        {
            "instances": n,
            "path": path,
            "ops": ops,
            "p50": 50.0,
            "p99": 90.0,
            "errors": errors,
            "peak": peak,
            "before": 0,
        }
        for n, path, ops, errors, peak in (
            (200, "data service (2 workers, pool 10, lean client)", 420.0, {}, 10),
            (200, "direct, a connection each", 1000.0, {"TooManyConnectionsError": 121}, 79),
        )
    ],
}


def _readme(tmp_path: Path) -> Path:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# x\n\n## How it compares\n\n{plots.README_START}\nold table\n{plots.README_END}\n\n"
        "## Next\n",
        encoding="utf-8",
    )
    return readme


def _args(data: Path, docs: Path, readme: Path) -> list[str]:
    return ["--benchmarks-dir", str(data), "--docs", str(docs), "--readme", str(readme)]


def test_readme_quotes_the_run_the_docs_show(tmp_path: Path) -> None:
    data = tmp_path / "bench"
    data.mkdir()
    run = {
        **ADAPTERS,
        "benchmarks": [
            *ADAPTERS["benchmarks"],
            _bench("db ping", "mangum-auto+lifespan-pool", 30e-3),
        ],
    }
    (data / "adapters.json").write_text(json.dumps(run), encoding="utf-8")
    (data / "baas_load.json").write_text(json.dumps(BAAS_LOAD), encoding="utf-8")
    docs, readme = _docs(tmp_path), _readme(tmp_path)
    assert plots.main(_args(data, docs, readme)) == 0
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text
    assert text.endswith(f"{plots.README_END}\n\n## Next\n")
    assert "| Flask GET | **1.15x** | 1.20x |" in text
    assert "2026-11-30 12:00 UTC at `0123456`" in text  # the run's date and revision
    assert "answered `db ping` in 2.0x the bare query" in text
    assert "(run on every invoke) in 300x." in text
    assert "200 simulated instances made 0.42x" in text
    assert "PostgreSQL holding 10 backends for them" in text
    assert "peaked at 79 with 121 errors (TooManyConnectionsError)" in text
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")
    assert "Date: 2026-11-30 12:00 UTC, revision 0123456789" in page
    assert "| **faasify** | 1.15x |" in page
    assert "0.42x direct access's throughput, holding 10 backends" in page

    # A later run without the load benchmark keeps the data service's line of its run.
    (data / "baas_load.json").unlink()
    assert plots.main(_args(data, docs, readme)) == 0
    again = readme.read_text(encoding="utf-8")
    assert again.count("200 simulated instances made 0.42x") == 1


def test_the_repository_readme_and_docs_quote_one_run() -> None:
    """What is committed: README's comparison names the run the docs' adapter figure
    shows, and its faasify ratios are that figure's."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    page = (root / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    block = readme.split(plots.README_START, 1)[1].split(plots.README_END, 1)[0]
    figures = page.split(plots.START, 1)[1].split(plots.END, 1)[0]
    adapters = figures.split("### Adapter overhead", 1)[1].split("### ", 1)[0]
    date = re.search(r"Date: (\d{4}-\d\d-\d\d \d\d:\d\d UTC), revision (\w{7})", adapters)
    assert date, adapters
    assert f"{date.group(1)} at `{date.group(2)}`" in block
    docs_ratios = re.search(r"\| \*\*faasify\*\* \|(.*)\|", adapters)
    assert docs_ratios
    in_docs = [cell.strip() for cell in docs_ratios.group(1).split("|")]
    in_readme = re.findall(r"^\| \w+ (?:GET|POST) \| \*\*([^*]+)\*\* \|", block, re.MULTILINE)
    assert in_readme == in_docs


# -- readable at the width the docs show them ---------------------------------------------------


def _wide_run() -> dict[str, Any]:
    """Every adapter group, with mangum+a2wsgi far above the rest as in real runs."""
    medians = {
        "starlette": {"floor": 40, "faasify": 49, "mangum-off": 63, "mangum-auto": 160},
        "fastapi": {"floor": 115, "faasify": 129, "mangum-off": 150, "mangum-auto": 240},
        "flask": {
            "floor": 90,
            "faasify": 104,
            "apig-wsgi": 103,
            "serverless-wsgi": 150,
            "mangum+a2wsgi": 930,
        },
    }
    benches = [
        _bench(f"{app} {method}", name, us * (1.1 if method == "POST" else 1.0) * 1e-6)
        for app, by in medians.items()
        for method in ("GET", "POST")
        for name, us in by.items()
    ]
    pools = [b for b in ADAPTERS["benchmarks"] if b["group"] != "flask GET"]
    pools += [
        _bench("db todos", "floor", 190e-6),
        _bench("db todos", "faasify+PostgresPool", 440e-6),
        _bench("db ping", "mangum-auto+lifespan-pool", 33e-3),
        _bench("db todos", "mangum-auto+lifespan-pool", 38e-3),
        _bench("db ping", "faasify+SQLAlchemyPool-async", 610e-6),
    ]
    return {**ADAPTERS, "benchmarks": benches + pools}


def _undrawn_tick_labels(figure: Any) -> set[int]:
    """Tick labels matplotlib keeps for ticks outside an axis's view, and does not draw."""
    hidden = set()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            span = (high - low) * 1e-9
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not low - span <= tick.get_loc() <= high + span:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return hidden


def _text_boxes(figure: Any) -> list[tuple[str, Any]]:
    from matplotlib.text import Text

    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    hidden = _undrawn_tick_labels(figure)
    boxes = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in hidden:
            continue
        assert text.get_fontsize() >= plots.SMALL, (text.get_text(), text.get_fontsize())
        boxes.append((text.get_text(), text.get_window_extent(renderer)))
    return boxes


@pytest.mark.parametrize(
    ("make", "data"),
    [
        pytest.param(plots.draw_adapters, "wide", id="adapters"),
        pytest.param(plots.draw_adapters, "below", id="adapters-below-floor"),
        pytest.param(plots.draw_pools, "wide", id="pools"),
        pytest.param(plots.draw_import, "wide", id="import"),
        pytest.param(plots.draw_process_models, "models", id="process-models"),
        pytest.param(plots.draw_baas, "baas", id="baas-load"),
    ],
)
def test_every_figure_is_readable_at_the_docs_width(make: Any, data: str) -> None:
    """Drawn at the docs column's width, nothing smaller than 8 pt, every text inside
    the canvas, no two texts on top of each other, none across faasify's targets."""
    source = {
        "wide": _wide_run(),
        "below": _adapters_with(93.0),
        "models": PROCESS_MODELS,
        "baas": BAAS_LOAD,
    }[data]
    drawing = make(source)
    assert drawing is not None
    figure = drawing.figure
    try:
        assert figure.get_figwidth() <= plots.WIDTH_IN
        boxes = _text_boxes(figure)
        canvas = figure.bbox
        for text, box in boxes:
            assert canvas.x0 - 1 <= box.x0, text
            assert box.x1 <= canvas.x1 + 1, text
            assert canvas.y0 - 1 <= box.y0, text
            assert box.y1 <= canvas.y1 + 1, text
        for i, (first, box) in enumerate(boxes):
            for second, other in boxes[i + 1 :]:
                assert not box.overlaps(other), (first, second)
        renderer = figure.canvas.get_renderer()
        for line in drawing.keep_clear:
            target = line.get_window_extent(renderer)
            for text, box in boxes:
                assert not box.overlaps(target), f"{text!r} lies on a target line"
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)


def test_a_candidate_far_above_the_rest_gets_a_broken_axis() -> None:
    """mangum+a2wsgi near 10x (and mangum's lifespan at 4x) must not squash the others
    near 1: the lower part of the axis stops under them, and the upper part shows them."""
    drawing = plots.draw_adapters(_wide_run())
    assert drawing is not None
    try:
        lower, upper = sorted(drawing.figure.axes, key=lambda ax: ax.get_position().y0)
        assert lower.get_ylim()[1] < 3.5  # past 3x, a ratio goes to the upper part
        assert upper.get_ylim()[0] < 10.33 < upper.get_ylim()[1]  # a2wsgi's 930/90
        assert len(drawing.keep_clear) == 6  # a target line per group
    finally:
        import matplotlib.pyplot as plt

        plt.close(drawing.figure)
