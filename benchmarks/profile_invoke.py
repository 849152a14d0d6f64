"""Where faasify's per-invoke time goes, for one app and method of the benchmark.

``python -m benchmarks.profile_invoke starlette GET [--invokes 20000]``

Two views, because each misleads on its own:

- **cProfile** over N invokes of the faasify handler and of the floor, listing
  faasify's own functions by self time. It names the costs, but its per-call
  hook inflates code made of many small calls (which faasify's is), so its
  microseconds are only good for ranking.
- **In-context attribution** by subtraction: the floor, the runner alone on a
  prebuilt request, the runner after a fresh decode, the encoder after the
  runner, and the whole handler, each timed with ``timeit`` (best of several
  repeats). A stage timed in a tight loop of its own runs with hot caches and
  looks about half as expensive as it is between two framework calls; timing
  it next to the app gives what it costs in a real invoke.

The attribution reaches into faasify's internals (the handler's codecs and
runner); a smoke test (``tests/test_benchmarks_run.py``) runs it, so a change
there fails the suite instead of the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.apps.candidates import CANDIDATES, CONTEXT
from benchmarks.apps.frameworks import APP_FACTORIES
from benchmarks.apps.workload import WORKLOADS
from faasify import handler

#: timeit's loop: invokes per repeat, and repeats (the smoke test asks for fewer).
TIMING = {"number": 3000, "repeat": 9}


def _best_us(fn: Callable[[], Any]) -> float:
    """Best-of-``repeat`` mean time of ``fn`` in µs: the least-disturbed estimate."""
    number = TIMING["number"]
    return min(timeit.repeat(fn, number=number, repeat=TIMING["repeat"])) / number * 1e6


def _profile(label: str, fn: Callable[[], Any], invokes: int, top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(invokes):
        fn()
    profile.disable()
    stats = pstats.Stats(profile)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    rows = [
        (tt, ct, nc, file, line, name) for (file, line, name), (_, nc, tt, ct, _) in table.items()
    ]
    total: float = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n== cProfile, {label}: {total / invokes * 1e6:.1f} µs/invoke under the profiler")
    own = [row for row in rows if "/faasify/" in row[3]]
    if own:
        print("   self µs  cum µs  calls  function (faasify's own)")
        for tt, ct, nc, file, line, name in sorted(own, reverse=True)[:top]:
            where = file.rsplit("/faasify/", 1)[-1]
            per_call = f"{tt / invokes * 1e6:7.2f} {ct / invokes * 1e6:7.2f} {nc / invokes:6.1f}"
            print(f"   {per_call}  {where}:{line} {name}")


def _attribute(app: Any, floor: Callable[[], Any], event: dict[str, Any]) -> None:
    lambda_handler = handler(app)
    codec = lambda_handler._codecs.detect(event)
    if codec is None:
        raise SystemExit("the workload's event is not one faasify reads")
    request = codec.decode(event, CONTEXT)
    decode, encode, run = codec.decode, codec.encode, lambda_handler.hosted._runner.run
    timings: dict[str, float] = {}
    for _ in range(2):  # interleave, keep the best of both passes
        for name, fn in (
            ("floor", floor),
            ("run", lambda: run(request)),
            ("run(decode)", lambda: run(decode(event, CONTEXT))),
            ("encode(run)", lambda: encode(run(request), event, CONTEXT)),
            ("handler", lambda: lambda_handler(event, CONTEXT)),
        ):
            timings[name] = min(timings.get(name, float("inf")), _best_us(fn))
    lambda_handler.close()
    base, whole = timings["floor"], timings["handler"]
    parts = {
        "decode (event -> Request)": timings["run(decode)"] - timings["run"],
        "runner (Request -> scope/environ, response back)": timings["run"] - base,
        "encode (Response -> result dict)": timings["encode(run)"] - timings["run"],
    }
    parts["handler itself (detect, bookkeeping) and noise"] = whole - base - sum(parts.values())
    print(f"\n== in context: floor {base:.1f} µs, faasify {whole:.1f} µs, ", end="")
    print(f"overhead {whole - base:.1f} µs ({whole / base:.2f}x)")
    for name, value in parts.items():
        print(f"   {value:6.1f} µs  {name}")


def main(argv: Sequence[str] | None = None) -> int:
    """Profile one (app, method) case: cProfile ranking, then in-context attribution."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app", choices=list(APP_FACTORIES))
    parser.add_argument("method", choices=list(WORKLOADS))
    parser.add_argument("--invokes", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument("--timing-number", type=int, default=3000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    TIMING.update(number=args.timing_number, repeat=9 if args.timing_number >= 1000 else 2)
    factory, kind = APP_FACTORIES[args.app]
    workload = WORKLOADS[args.method]
    lambda_handler = handler(factory())
    floor = CANDIDATES["floor"].prepare(factory(), kind, workload)
    event = workload.event
    for _ in range(args.warmup):  # warm up both before profiling
        lambda_handler(event, CONTEXT)
        floor.call()
    _profile("faasify", lambda: lambda_handler(event, CONTEXT), args.invokes, args.top)
    _profile("floor", floor.call, args.invokes, args.top)
    lambda_handler.close()
    _attribute(factory(), floor.call, event)
    floor.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
