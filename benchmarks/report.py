"""Render a pytest-benchmark JSON file as the Markdown tables quoted in docs/.

``python -m benchmarks.report IN.json OUT.md``

The ratio to the floor, not the absolute time, is the figure to read: the
floor is the same app doing the same work with no adapter, measured in the
same run, so ``x floor`` cancels most of the machine's speed and much of its
drift. Medians (not means) are used throughout, because on a small shared
machine the slow tail is other processes, not the code under test; ops/s is
therefore ``1 / median`` too, unlike pytest-benchmark's own ``1 / mean``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["BELOW_FLOOR_MARK", "BelowFloor", "below_floor", "main", "ratio_cell", "render"]

COMMAND = "make bench"
PACKAGES = (
    "faasify",
    "starlette",
    "fastapi",
    "flask",
    "mangum",
    "apig-wsgi",
    "serverless-wsgi",
    "a2wsgi",
    "asyncpg",
    "sqlalchemy",
    "psycopg",
)
#: The most faasify may cost, as a multiple of the floor, per app.
TARGETS = {"starlette": 1.10, "fastapi": 1.05, "flask": 1.10}
#: The most ``import faasify`` may add on top of the framework, in ms.
IMPORT_TARGET_MS = 2.0
APP_ORDER = ("starlette", "fastapi", "flask")
METHOD_ORDER = ("GET", "POST")
CANDIDATE_ORDER = (
    "floor",
    "faasify",
    "mangum-off",
    "mangum-auto",
    "apig-wsgi",
    "serverless-wsgi",
    "mangum+a2wsgi",
)
IMPORT_GROUP = "import"
#: Groups of ``test_pools.py`` ("db ping", "db todos"): a warm invoke that queries PostgreSQL.
POOL_PREFIX = "db "
POOL_QUERY_ORDER = ("ping", "todos")
POOL_CANDIDATE_ORDER = (
    "floor",
    "faasify+PostgresPool",
    "faasify+SQLAlchemyPool-async",
    "faasify+SQLAlchemyPool-sync",
    "mangum-auto+lifespan-pool",
    "faasify+connect-per-invoke",
    "apig-wsgi+engine-pre-ping",
    "apig-wsgi+engine",
)


#: Beside a ratio under 1.00x, which the note under its table explains.
BELOW_FLOOR_MARK = "†"


@dataclass(frozen=True)
class BelowFloor:
    """A candidate whose median came out under its floor's: noise, never a speed-up.

    No adapter can run the app in less time than the app alone, so a ratio under
    1.00x says the floor's timing was slowed by other work during the run. It is
    published only with :meth:`note` beside it.
    """

    group: str
    candidate: str
    ratio: float
    median: float
    iqr: float
    floor_median: float
    floor_iqr: float

    def note(self) -> str:
        return (
            f"{BELOW_FLOOR_MARK} {self.candidate} at {self.ratio:.2f}x in `{self.group}` is "
            "below the floor, which no adapter can be: the candidate also runs the bare app, "
            "so this is noise, not a speed-up. The floor's median was "
            f"{_fmt(self.floor_median * 1e6)} µs with an IQR of {_fmt(self.floor_iqr * 1e6)} µs "
            f"({self.floor_iqr / self.floor_median:.0%}), {self.candidate}'s "
            f"{_fmt(self.median * 1e6)} µs with {_fmt(self.iqr * 1e6)} µs: other work slowed "
            "one and not the other. Treat the group as unmeasured and re-run it "
            "(`make bench`, or `--benchmark-max-time=3` for longer timing) before quoting it."
        )


def below_floor(benchmarks: Iterable[dict[str, Any]]) -> list[BelowFloor]:
    """Every candidate of every group (adapters and databases) whose median is under
    its group's floor, in the order the report lists them."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in benchmarks:
        group = bench.get("group")
        if group and group != IMPORT_GROUP:
            groups.setdefault(str(group), []).append(bench)
    found = []
    for group in sorted(groups, key=_any_group_key):
        floor = next((b for b in groups[group] if _candidate(b) == "floor"), None)
        if floor is None:
            continue
        base = floor["stats"]
        for bench in groups[group]:
            stats = bench["stats"]
            if _candidate(bench) != "floor" and stats["median"] < base["median"]:
                found.append(
                    BelowFloor(
                        group,
                        _candidate(bench),
                        stats["median"] / base["median"],
                        stats["median"],
                        stats["iqr"],
                        base["median"],
                        base["iqr"],
                    )
                )
    return found


def ratio_cell(ratio: float, digits: int = 2) -> str:
    """``1.12x``, or ``0.93x†`` under the floor (see :class:`BelowFloor`)."""
    return f"{ratio:.{digits}f}x" + (BELOW_FLOOR_MARK if ratio < 1.0 else "")


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (affinity, cgroup-pinned CI runners), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def package_versions(names: Iterable[str] = PACKAGES) -> list[str]:
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return versions


def _order(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


def _group_key(group: str) -> tuple[tuple[int, str], tuple[int, str]]:
    app, _, method = group.partition(" ")
    return _order(app, APP_ORDER), _order(method, METHOD_ORDER)


def _any_group_key(group: str) -> tuple[int, tuple[int, str], tuple[int, str]]:
    """Adapter groups first (by app, then method), then the database groups."""
    if _is_pool_group(group):
        return 1, _order(group[len(POOL_PREFIX) :], POOL_QUERY_ORDER), (0, "")
    return 0, *_group_key(group)


def _candidate(bench: dict[str, Any]) -> str:
    return str(bench.get("extra_info", {}).get("candidate") or bench.get("param") or bench["name"])


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _header(data: dict[str, Any]) -> list[str]:
    machine = data.get("machine_info", {})
    commit = data.get("commit_info", {})
    when = data.get("datetime", "")
    with contextlib.suppress(ValueError):
        when = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
    python = (
        f"{machine.get('python_implementation', platform.python_implementation())} "
        f"{machine.get('python_version', platform.python_version())}"
    )
    # The pool groups time with ``pedantic`` and describe their own timing.
    settings: dict[str, Any] = next(
        (
            b.get("options", {})
            for b in data["benchmarks"]
            if b.get("group") != IMPORT_GROUP and not _is_pool_group(b.get("group"))
        ),
        {},
    )
    revision = commit.get("id", "")[:10] + (" (uncommitted changes)" if commit.get("dirty") else "")
    lines = [
        "<!-- Generated by `python -m benchmarks.report`; do not edit by hand. -->",
        "",
        f"- **Command:** `{COMMAND}`",
        f"- **Date:** {when}" + (f", revision {revision}" if revision.strip() else ""),
        f"- **Machine:** {cpu_model()}, {usable_cores()} cores, "
        f"{machine.get('system', platform.system())} {machine.get('release', platform.release())}",
        f"- **Python:** {python}",
        f"- **Packages:** {', '.join(package_versions())}",
    ]
    if settings:
        lines.append(
            f"- **Settings:** max_time {settings.get('max_time')} s per benchmark, "
            f"min_time {settings.get('min_time')} s per round, "
            f"warmup {settings.get('warmup') or 'off'} invokes, "
            f"GC {'off' if settings.get('disable_gc') else 'on'}, timer {settings.get('timer')}"
        )
    return lines


def _is_pool_group(group: str | None) -> bool:
    return bool(group) and str(group).startswith(POOL_PREFIX)


def _invoke_sections(benchmarks: list[dict[str, Any]]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in benchmarks:
        group = bench.get("group")
        if group and group != IMPORT_GROUP and not _is_pool_group(group):
            groups.setdefault(bench["group"], []).append(bench)
    ordered = sorted(groups, key=_group_key)
    ratios: dict[str, dict[str, float]] = {}
    sections: list[str] = []
    notes = below_floor(benchmarks)
    for group in ordered:
        rows = sorted(groups[group], key=lambda b: _order(_candidate(b), CANDIDATE_ORDER))
        floor = next((b["stats"]["median"] for b in rows if _candidate(b) == "floor"), None)
        sections += [
            "",
            f"### {group}",
            "",
            "| candidate | median µs | x floor | ops/s | IQR µs |",
            "|---|---:|---:|---:|---:|",
        ]
        for bench in rows:
            stats = bench["stats"]
            median = stats["median"]
            ratio = median / floor if floor else float("nan")
            name = _candidate(bench)
            ratios.setdefault(name, {})[group] = ratio
            label = f"**{name}**" if name == "faasify" else name
            sections.append(
                f"| {label} | {_fmt(median * 1e6)} | {ratio_cell(ratio)} | {_fmt(1 / median, 0)} "
                f"| {_fmt(stats['iqr'] * 1e6)} |"
            )
        app = group.partition(" ")[0]
        target = TARGETS.get(app)
        ours = ratios.get("faasify", {}).get(group)
        if target is not None and ours is not None:
            verdict = "met" if ours <= target else "**missed**"
            if ours < 1.0:
                verdict = "not measured (below the floor, see the note)"
            sections += [
                "",
                f"faasify: {ratio_cell(ours)} the floor; target <= {target:.2f}x: {verdict}.",
            ]
        sections += [line for n in notes if n.group == group for line in ("", n.note())]
    if not ordered:
        return []
    summary = ["", "### Summary: median as a multiple of the floor", ""]
    summary.append("| candidate | " + " | ".join(ordered) + " |")
    summary.append("|---|" + "---:|" * len(ordered))
    for name in sorted(ratios, key=lambda n: _order(n, CANDIDATE_ORDER)):
        cells = [ratio_cell(ratios[name][g]) if g in ratios[name] else "n/a" for g in ordered]
        label = f"**{name}**" if name == "faasify" else name
        summary.append(f"| {label} | " + " | ".join(cells) + " |")
    if any(n.group in groups for n in notes):
        summary += ["", f"{BELOW_FLOOR_MARK} below the floor: noise, see the note under its group."]
    return summary + sections


def _app_floors(benchmarks: list[dict[str, Any]]) -> dict[str, float]:
    """Framework -> median of its bare-app floor on ``GET`` in the adapter groups, if run."""
    floors = {}
    for bench in benchmarks:
        app, _, method = str(bench.get("group") or "").partition(" ")
        if method == "GET" and _candidate(bench) == "floor":
            floors[app] = bench["stats"]["median"]
    return floors


def _pool_sections(benchmarks: list[dict[str, Any]]) -> list[str]:
    """The database groups: each candidate beside the query on an open connection."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in benchmarks:
        if _is_pool_group(bench.get("group")):
            groups.setdefault(bench["group"], []).append(bench)
    if not groups:
        return []
    ordered = sorted(groups, key=lambda g: _order(g[len(POOL_PREFIX) :], POOL_QUERY_ORDER))
    app_floors = _app_floors(benchmarks)
    ratios: dict[str, dict[str, float]] = {}
    info: dict[str, dict[str, Any]] = {}
    sections: list[str] = []
    for group in ordered:
        rows = sorted(groups[group], key=lambda b: _order(_candidate(b), POOL_CANDIDATE_ORDER))
        floor = next((b["stats"]["median"] for b in rows if _candidate(b) == "floor"), None)
        sections += [
            "",
            f"### {group}",
            "",
            "| candidate | median µs | x floor | over floor µs | CPU µs | ops/s | IQR µs "
            "| rounds |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        verdicts: list[str] = []
        for bench in rows:
            stats, extra = bench["stats"], bench.get("extra_info", {})
            median = stats["median"]
            name = _candidate(bench)
            info.setdefault(name, extra)
            ratio = median / floor if floor else float("nan")
            ratios.setdefault(name, {})[group] = ratio
            over = f"{_fmt((median - floor) * 1e6)}" if floor else "n/a"
            cpu = _fmt(extra["cpu_us"]) if "cpu_us" in extra else "n/a"
            target = extra.get("target")
            label = f"**{name}**" if target is not None else name
            sections.append(
                f"| {label} | {_fmt(median * 1e6)} | {ratio_cell(ratio)} | {over} | {cpu} "
                f"| {_fmt(1 / median, 0)} | {_fmt(stats['iqr'] * 1e6)} | {stats['rounds']:,} |"
            )
            if target is None or not floor:
                continue
            verdict = "met" if ratio <= target else "**missed**"
            if ratio < 1.0:
                verdict = "not measured (below the floor, see the note)"
            line = f"- {name}: {ratio_cell(ratio)} the floor; target <= {target:.2f}x: {verdict}."
            app_floor = app_floors.get(extra.get("framework") or "")
            if app_floor:
                line += (
                    f" Against the floor plus the bare {extra['framework']} app of the "
                    f"`{extra['framework']} GET` group ({_fmt(floor * 1e6)} + "
                    f"{_fmt(app_floor * 1e6)} µs): {median / (floor + app_floor):.2f}x."
                )
            verdicts.append(line)
        if verdicts:
            sections += ["", *verdicts]
        sections += [line for n in below_floor(rows) for line in ("", n.note())]
    names = sorted(info, key=lambda n: _order(n, POOL_CANDIDATE_ORDER))
    timings = sorted({str(info[name]["timing"]) for name in names if "timing" in info[name]})
    lines = [
        "",
        "### Warm invoke with a database: the candidates",
        "",
        "The floor is the query alone on an open asyncpg connection (no HTTP, no "
        "framework, no pool); *over floor* is the median minus the floor's; *CPU* is "
        "this process's CPU time per invoke over untimed invokes after the timed ones. "
        f"Timing (`benchmark.pedantic`): {'; or '.join(timings) or 'not recorded'}.",
        "",
        "| candidate | stack |",
        "|---|---|",
    ]
    lines += [f"| {name} | {info[name].get('stack', '')} |" for name in names]
    lines += ["", "### Warm invoke with a database: median as a multiple of the floor", ""]
    lines.append("| candidate | " + " | ".join(ordered) + " |")
    lines.append("|---|" + "---:|" * len(ordered))
    for name in sorted(ratios, key=lambda n: _order(n, POOL_CANDIDATE_ORDER)):
        cells = [ratio_cell(ratios[name][g]) if g in ratios[name] else "n/a" for g in ordered]
        label = f"**{name}**" if info[name].get("target") is not None else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if any(ratio < 1.0 for by_group in ratios.values() for ratio in by_group.values()):
        lines += ["", f"{BELOW_FLOOR_MARK} below the floor: noise, see the note under its group."]
    return lines + sections


def _import_section(benchmarks: list[dict[str, Any]]) -> list[str]:
    rows = [b for b in benchmarks if b.get("group") == IMPORT_GROUP]
    if not rows:
        return []
    rows.sort(key=lambda b: _order(b["extra_info"].get("framework", ""), APP_ORDER))
    lines = [
        "",
        "### Import time: `import faasify` after the framework",
        "",
        "| framework | faasify import ms (-X importtime) | wall delta ms | framework alone ms "
        f"| target <= {IMPORT_TARGET_MS:g} ms |",
        "|---|---:|---:|---:|---|",
    ]
    for bench in rows:
        info = bench["extra_info"]
        added = info["faasify_import_ms"]
        verdict = "met" if added <= IMPORT_TARGET_MS else "**missed**"
        lines.append(
            f"| {info['framework']} | {added:.2f} | {info['wall_delta_ms']:.2f} "
            f"| {info['framework_wall_ms']:.1f} | {verdict} |"
        )
    runs = rows[0]["extra_info"].get("runs")
    lines += [
        "",
        f"{runs} fresh interpreters each way, run alternately, bytecode cached for every "
        "module. *faasify import* is the median of `python -X importtime`'s cumulative time "
        "for the `faasify` package (the figure held to the target); *wall delta* is the "
        "fastest whole process with faasify minus the fastest without (counts interpreter "
        "teardown too; coarse, a cross-check only); *framework alone* is the median process.",
    ]
    return lines


def render(data: dict[str, Any]) -> str:
    """The Markdown for one pytest-benchmark JSON document."""
    benchmarks = data.get("benchmarks", [])
    lines = (
        _header(data)
        + _invoke_sections(benchmarks)
        + _import_section(benchmarks)
        + _pool_sections(benchmarks)
    )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m benchmarks.report IN.json OUT.md", file=sys.stderr)
        return 2
    source, target = Path(args[0]), Path(args[1])
    data = json.loads(source.read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(data), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
