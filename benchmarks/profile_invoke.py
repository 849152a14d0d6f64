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

The attribution reaches into faasify's internals (the handler's source
detection, options and runner), which may change; it says so and stops
rather than guess when they do.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.apps import APP_FACTORIES
from benchmarks.candidates import CANDIDATES, CONTEXT
from benchmarks.workload import WORKLOADS
from faasify import handler


def _best_us(fn: Callable[[], Any], number: int = 3000, repeat: int = 9) -> float:
    """Best-of-``repeat`` mean time of ``fn`` in µs: the least-disturbed estimate."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def _profile(label: str, fn: Callable[[], Any], invokes: int, top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(invokes):
        fn()
    profile.disable()
    stats = pstats.Stats(profile)
    rows = [
        (tt, ct, nc, file, line, name)
        for (file, line, name), (_, nc, tt, ct, _) in stats.stats.items()
    ]
    total = stats.total_tt
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
    try:
        from faasify.adapters.aws.codecs import detect_source

        source = detect_source(event)
        options = lambda_handler._options
        runner = lambda_handler._runner
        request = source.decode(event, CONTEXT, options)
    except (AttributeError, ImportError, TypeError) as exc:
        print(f"\n(in-context attribution skipped: faasify's internals changed: {exc})")
        lambda_handler.close()
        return
    decode, encode, run = source.decode, source.encode, runner.run
    timings: dict[str, float] = {}
    for _ in range(2):  # interleave, keep the best of both passes
        for name, fn in (
            ("floor", floor),
            ("run", lambda: run(request)),
            ("run(decode)", lambda: run(decode(event, CONTEXT, options))),
            ("encode(run)", lambda: encode(run(request), options)),
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
    args = parser.parse_args(argv)
    factory, kind = APP_FACTORIES[args.app]
    workload = WORKLOADS[args.method]
    lambda_handler = handler(factory())
    floor = CANDIDATES["floor"].prepare(factory(), kind, workload)
    event = workload.event
    for _ in range(2000):  # warm up both before profiling
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
