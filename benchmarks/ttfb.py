"""Time to first byte of a 5 MB response, streamed and buffered, as the client sees it.

``python -m benchmarks.ttfb [--mb 5] [--requests 10] [--json PATH]`` starts
``faasify local`` twice on ``benchmarks/apps/ttfb_app.py`` (a CSV export made as it is
sent), once per invoke mode (``--invoke-mode buffered`` and ``response-stream``,
Function URL events both), and times requests from an HTTP client: the first
body byte (TTFB) and the last. It prints a Markdown table and the ratio of the
buffered TTFB to the streamed one (medians). Buffered, the function builds the
whole body, posts it as one JSON answer and the runtime decodes it before the
first byte leaves; streamed, the first 64 KB leave as soon as they are made.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MODES = ("buffered", "response-stream")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(mode: str, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faasify.cli",
            "local",
            "benchmarks.apps.ttfb_app:lambda_handler",
            "--invoke-mode",
            mode,
            "--event-format",
            "function-url",
            "--max-instances",
            "1",
            "--port",
            str(port),
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "faasify local: http://" in line:
            return process
    raise RuntimeError(f"faasify local ({mode}) did not start")


def _request(client: httpx.Client, mb: float) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = 0.0
    size = 0
    with client.stream("GET", "/export", params={"mb": mb}) as response:
        response.raise_for_status()
        for data in response.iter_raw():
            if not first and data:
                first = time.perf_counter() - started
            size += len(data)
    return first, time.perf_counter() - started, size


def measure(mode: str, mb: float, requests: int) -> dict[str, float]:
    port = _free_port()
    process = _start(mode, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(2):  # the cold start, and a warm-up
                _request(client, mb)
            runs = [_request(client, mb) for _ in range(requests)]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    sizes = {size for _, _, size in runs}
    assert sizes == {int(mb * 1024 * 1024)}, sizes
    return {
        "ttfb_ms": statistics.median(first for first, _, _ in runs) * 1000,
        "total_ms": statistics.median(total for _, total, _ in runs) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ttfb", description=__doc__)
    parser.add_argument("--mb", type=float, default=5.0, help="response size in MB")
    parser.add_argument("--requests", type=int, default=10, help="timed requests per mode")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    results = {mode: measure(mode, args.mb, args.requests) for mode in MODES}
    ratio = results["buffered"]["ttfb_ms"] / results["response-stream"]["ttfb_ms"]
    print(f"| {args.mb:g} MB CSV through faasify local | TTFB (median) | last byte (median) |")
    print("| --- | --- | --- |")
    for mode in MODES:
        figures = results[mode]
        print(f"| {mode} | {figures['ttfb_ms']:.1f} ms | {figures['total_ms']:.1f} ms |")
    print(f"\nbuffered TTFB / streamed TTFB = {ratio:.1f}x ({args.requests} requests per mode)")
    if args.json:
        record = {
            "results": results,
            "ratio": ratio,
            "mb": args.mb,
            "requests": args.requests,
            "machine": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d"),
            "command": "python -m benchmarks.ttfb " + " ".join(argv or sys.argv[1:]),
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
