"""Instructions per warm invoke, counted by valgrind's callgrind, for every AWS event shape.

``python -m benchmarks.instructions [--shapes ...] [--apps ...] [--methods ...]``

Wall-clock figures on a shared 2-core machine move by several per cent from
one run to the next; an instruction count does not. Every candidate of the
wall-clock suite (``test_adapters.py``) is built in one valgrind process, warmed
up, and then run for two batch sizes, ``N1`` and ``N2`` invokes, with the
counters zeroed before and dumped after each batch (``callgrind_marks.c``,
called through ctypes). The figure per invoke is ``(I(N2) - I(N1)) / (N2 - N1)``:
the constant cost of the marks themselves cancels, and so does anything that
happens once. ``PYTHONHASHSEED=0`` keeps dict and set layouts the same run to run,
and the heap is frozen (``gc.freeze``) before each candidate's batches, so that
the collector's passes over what earlier candidates left behind do not count
against it: collections then cost what the invokes themselves allocate.

The request is the wall-clock suite's, plus a cookie: a dozen headers, a
query string, and for POST a ~1 KB JSON body. Each shape's event is built from
that one description by :mod:`faasify.adapters.aws.events`, as the local runtime
builds it; the floor is the app called with a ready scope or environ, so
``candidate / floor`` is what the adapter adds, as a factor. Each candidate's
answer is checked before counting: one that fails is reported as failing, not
counted.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SHAPES", "Count", "main", "measure"]

ROOT = Path(__file__).resolve().parent.parent
MARKS_SOURCE = Path(__file__).with_name("callgrind_marks.c")

#: Every AWS HTTP event shape the adapter answers, as the event builders name them.
SHAPES: tuple[str, ...] = (
    "http-api-v2",
    "function-url",
    "http-api-v1",
    "rest-v1",
    "alb",
    "alb-multi-value",
)
APPS: tuple[str, ...] = ("starlette", "fastapi", "flask")
METHODS: tuple[str, ...] = ("GET", "POST")
#: The candidates counted, in report order; each runs where it supports the app kind.
CANDIDATES: tuple[str, ...] = (
    "floor",
    "faasify",
    "mangum-off",
    "mangum-auto",
    "apig-wsgi",
    "serverless-wsgi",
)
WARMUP = 300
N1, N2 = 100, 500

_COOKIE = ("cookie", "session=8d3f2a1c9b7e4f60; theme=dark")


@dataclasses.dataclass(frozen=True)
class Count:
    """Instructions per warm invoke of one candidate on one (app, method, shape)."""

    app: str
    method: str
    shape: str
    candidate: str
    per_invoke: float | None
    error: str | None = None


# -- the inner process: runs under valgrind -----------------------------------------


def _workloads(method: str, shapes: Sequence[str]) -> dict[str, Any]:
    """The suite's workload for ``method``, with a cookie, as an event of each shape."""
    from benchmarks.apps.workload import SOURCE_IP, WORKLOADS
    from faasify.adapters.aws.events import build_event

    base = WORKLOADS[method]
    headers = (*base.headers, _COOKIE)
    result = {}
    for shape in shapes:
        event = build_event(
            shape,  # type: ignore[arg-type]
            base.method,
            base.path,
            base.query,
            headers,
            base.body,
            source_ip=SOURCE_IP,
        )
        result[shape] = dataclasses.replace(base, headers=headers, event=event)
    return result


def _check(prepared: Any, expected: Any) -> None:
    status, body = prepared.read(prepared.call(*prepared.args))
    if status != 200:
        raise AssertionError(f"status {status}, body {body[:120]!r}")
    if json.loads(body) != expected:
        raise AssertionError(f"unexpected body {body[:120]!r}")


def _inner(plan_path: str, manifest_path: str) -> None:
    from benchmarks.apps.candidates import CANDIDATES as PREPARERS
    from benchmarks.apps.frameworks import APP_FACTORIES

    plan = json.loads(Path(plan_path).read_text())
    marks = ctypes.CDLL(plan["marks"])
    marks.marks_dump.argtypes = [ctypes.c_char_p]
    manifest: list[dict[str, Any]] = []
    for app_name in plan["apps"]:
        factory, kind = APP_FACTORIES[app_name]
        for method in plan["methods"]:
            workloads = _workloads(method, plan["shapes"])
            for candidate in plan["candidates"]:
                preparer = PREPARERS[candidate]
                if not preparer.supports(kind):
                    continue
                # The floor does not read the event: one shape stands for all.
                shapes = plan["shapes"][:1] if candidate == "floor" else plan["shapes"]
                for shape in shapes:
                    entry = {"app": app_name, "method": method, "shape": shape}
                    entry["candidate"] = candidate
                    workload = workloads[shape]
                    prepared = preparer.prepare(factory(), kind, workload)
                    try:
                        _check(prepared, workload.expected)
                        call, args = prepared.call, prepared.args
                        for _ in range(WARMUP):
                            call(*args)
                        # Whatever earlier candidates left on the heap would make
                        # the collector's full passes cost this one: freeze it, so
                        # collections see only what these invokes allocate.
                        gc.collect()
                        gc.freeze()
                        label = len(manifest)
                        for n in (N1, N2):
                            marks.marks_zero()
                            for _ in range(n):
                                call(*args)
                            marks.marks_dump(f"{label}:{n}".encode())
                        _check(prepared, workload.expected)
                    except Exception as exc:
                        entry["error"] = f"{type(exc).__name__}: {exc}"[:200]
                    finally:
                        prepared.close()
                        gc.unfreeze()
                    manifest.append(entry)
    Path(manifest_path).write_text(json.dumps(manifest))


# -- the outer process ----------------------------------------------------------------


def _compile_marks(directory: Path) -> Path:
    library = directory / "callgrind_marks.so"
    subprocess.run(
        ["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(MARKS_SOURCE)],
        check=True,
    )
    return library


def under_callgrind(directory: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``python *args`` under callgrind, its dumps written into ``directory``.

    Every counting script goes through here, so that they all count the same way:
    ``PYTHONHASHSEED=0``, the repository on the path, the interpreter that runs the
    script. ``env`` replaces the environment (it must carry those two itself).
    Returns what the script printed.
    """
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--quiet",
            f"--callgrind-out-file={directory}/callgrind.out.%p",
            sys.executable,
            *args,
        ],
        check=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(ROOT)) if env is None else env,
        stdout=subprocess.PIPE,
        text=True,
    )
    return completed.stdout


_TRIGGER = re.compile(r"^desc: Trigger: Client Request: (\d+):(\d+)$", re.M)
_SUMMARY = re.compile(r"^summary: (\d+)$", re.M)


def _read_dumps(directory: Path) -> dict[tuple[int, int], int]:
    """``(entry, batch size) -> instructions`` from callgrind's dump files."""
    found: dict[tuple[int, int], int] = {}
    for path in directory.glob("callgrind.out.*"):
        text = path.read_text(errors="replace")
        trigger, summary = _TRIGGER.search(text), _SUMMARY.search(text)
        if trigger and summary:
            found[(int(trigger[1]), int(trigger[2]))] = int(summary[1])
    return found


def measure(
    shapes: Sequence[str] = SHAPES,
    apps: Sequence[str] = APPS,
    methods: Sequence[str] = METHODS,
    candidates: Sequence[str] = CANDIDATES,
) -> list[Count]:
    """Run the candidates under callgrind and return their counts per invoke."""
    with tempfile.TemporaryDirectory(prefix="faasify-callgrind-") as tmp:
        directory = Path(tmp)
        plan = {
            "marks": str(_compile_marks(directory)),
            "shapes": list(shapes),
            "apps": list(apps),
            "methods": list(methods),
            "candidates": list(candidates),
        }
        (directory / "plan.json").write_text(json.dumps(plan))
        manifest_path = directory / "manifest.json"
        under_callgrind(
            directory,
            "-m",
            "benchmarks.instructions",
            "--inner",
            str(directory / "plan.json"),
            str(manifest_path),
        )
        manifest = json.loads(manifest_path.read_text())
        dumps = _read_dumps(directory)
    counts = []
    for index, entry in enumerate(manifest):
        error = entry.get("error")
        per = None
        if error is None:
            per = (dumps[(index, N2)] - dumps[(index, N1)]) / (N2 - N1)
        counts.append(
            Count(entry["app"], entry["method"], entry["shape"], entry["candidate"], per, error)
        )
    return counts


def table(counts: Sequence[Count]) -> str:
    """A Markdown table: instructions per invoke as a factor of the floor's."""
    floors = {(c.app, c.method): c.per_invoke for c in counts if c.candidate == "floor"}
    present = [name for name in CANDIDATES if name != "floor"]
    present = [name for name in present if any(c.candidate == name for c in counts)]
    rows = ["| shape | app | floor (instr.) | " + " | ".join(present) + " |"]
    rows.append("|---|---|---:|" + "---:|" * len(present))
    keys = sorted(
        {(c.shape, c.app, c.method) for c in counts if c.candidate != "floor"},
        key=lambda k: (SHAPES.index(k[0]), APPS.index(k[1]), METHODS.index(k[2])),
    )
    by_key = {(c.shape, c.app, c.method, c.candidate): c for c in counts}
    for shape, app, method in keys:
        floor = floors.get((app, method))
        cells = []
        for name in present:
            count = by_key.get((shape, app, method, name))
            if count is None:
                cells.append("")
            elif count.per_invoke is None:
                cells.append("fails")
            elif floor:
                cells.append(f"{count.per_invoke / floor:.3f}x")
            else:
                cells.append(f"{count.per_invoke:,.0f}")
        floor_text = f"{floor:,.0f}" if floor else "?"
        rows.append(f"| {shape} | {app} {method} | {floor_text} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    parser.add_argument("--apps", nargs="+", default=list(APPS), choices=APPS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--json", help="also write the counts to this JSON file")
    parser.add_argument("--inner", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _inner(*args.inner)
        return 0
    candidates = args.candidates if "floor" in args.candidates else ["floor", *args.candidates]
    counts = measure(args.shapes, args.apps, args.methods, candidates)
    if args.json:
        Path(args.json).write_text(json.dumps([dataclasses.asdict(c) for c in counts], indent=1))
    print(table(counts))
    for count in counts:
        if count.error:
            print(f"{count.candidate} on {count.shape} {count.app} {count.method}: {count.error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
