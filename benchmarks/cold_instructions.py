"""What an adapter adds to a cold start, in instructions: its import and building the handler.

``python -m benchmarks.cold_instructions``

Each figure is one fresh interpreter under callgrind: the web framework is
imported and the app built first (the user's module does that anyway), the
counters are zeroed, then the adapter is imported and the handler built, and
the counters dumped. What is counted is therefore exactly the adapter's share
of the init phase, on top of the framework, whatever the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.import_time import bytecode_env
from benchmarks.instructions import ROOT, _compile_marks, _read_dumps, under_callgrind

__all__ = ["BUILDS", "main", "measure"]

#: (candidate, app kind) -> the statements that import the adapter and build a handler.
BUILDS: dict[tuple[str, str], str] = {
    ("faasify", "asgi"): "import faasify\nhandler = faasify.handler(app)",
    ("faasify", "wsgi"): "import faasify\nhandler = faasify.handler(app)",
    ("mangum", "asgi"): "from mangum import Mangum\nhandler = Mangum(app, lifespan='off')",
    ("apig-wsgi", "wsgi"): "from apig_wsgi import make_lambda_handler\n"
    "handler = make_lambda_handler(app)",
    ("serverless-wsgi", "wsgi"): "import serverless_wsgi\nhandler = serverless_wsgi.handle_request",
}

_SCRIPT = """
import ctypes
marks = ctypes.CDLL({marks!r})
marks.marks_dump.argtypes = [ctypes.c_char_p]
from benchmarks.apps.frameworks import APP_FACTORIES
app = APP_FACTORIES[{app!r}][0]()
marks.marks_zero()
{build}
marks.marks_dump(b"0:1")
"""


def measure(apps: Sequence[str] = ("starlette", "fastapi", "flask")) -> dict[str, dict[str, int]]:
    """``app -> candidate -> instructions`` for importing the adapter and building a handler."""
    from benchmarks.apps.frameworks import APP_FACTORIES

    found: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="faasify-cold-") as tmp:
        marks = _compile_marks(Path(tmp))
        # Bytecode compiled once beforehand, into a cache of this run's own, as an
        # installed package ships it (the compiler is not the adapter's cost).
        env = dict(bytecode_env(str(Path(tmp) / "pycache")), PYTHONHASHSEED="0")
        env["PYTHONPATH"] = str(ROOT)
        # Every (app, candidate) pair once: building a handler may import modules
        # of the framework's own (FastAPI's lifespan does), compiled here too.
        for app in apps:
            for (_candidate, kind), build in BUILDS.items():
                if APP_FACTORIES[app][1] == kind:
                    warm = _SCRIPT.format(marks=str(marks), app=app, build=build)
                    subprocess.run([sys.executable, "-c", warm], check=True, cwd=ROOT, env=env)
        for app in apps:
            kind = APP_FACTORIES[app][1]
            for (candidate, candidate_kind), build in BUILDS.items():
                if candidate_kind != kind:
                    continue
                out = Path(tmp) / f"{app}-{candidate}"
                out.mkdir()
                script = _SCRIPT.format(marks=str(marks), app=app, build=build)
                under_callgrind(out, "-c", script, env=env)
                found.setdefault(app, {})[candidate] = _read_dumps(out)[(0, 1)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_instructions")
    parser.add_argument("--apps", nargs="+", default=["starlette", "fastapi", "flask"])
    parser.add_argument("--json", help="also write the counts to this JSON file")
    args = parser.parse_args(argv)
    counts = measure(args.apps)
    if args.json:
        Path(args.json).write_text(json.dumps(counts, indent=1))
    for app, by_candidate in counts.items():
        cells = ", ".join(f"{name} {count / 1e6:.2f}M" for name, count in by_candidate.items())
        print(f"{app}: {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
