"""Resident vs per-request instances on the same app, through the local runtime.

``python -m benchmarks.process_models [--requests N] [--concurrency C]`` runs the
list endpoint of ``benchmarks/apps/local_todos_app.py`` behind ``faasify local``'s
scaler in both process models and prints a Markdown table: median and p99
latency as the client sees it, cold starts, and database connections opened per
1,000 requests (PostgreSQL's own ``pg_stat_database.sessions`` counter).
``--json PATH`` also writes the figures, with the machine, date and command,
for ``python -m benchmarks.plots``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import psycopg

from faasify.adapters.aws.events import build_event
from faasify.local.runtime import ProcessModel, Scaler

ROOT = str(Path(__file__).resolve().parents[1])
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _prepare() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS faasify_bench_todos "
            "(id serial PRIMARY KEY, owner text NOT NULL, text text NOT NULL, done bool NOT NULL)"
        )
        conn.execute("DELETE FROM faasify_bench_todos")
        conn.execute(
            "INSERT INTO faasify_bench_todos (owner, text, done) "
            "SELECT 'alice', 'todo ' || i, i % 3 = 0 FROM generate_series(1, 20) AS i"
        )


def _sessions() -> int:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0]) - 1  # not counting this very session


async def _run(model: ProcessModel, requests: int, concurrency: int) -> dict[str, float]:
    scaler = Scaler(
        "benchmarks.apps.local_todos_app:lambda_handler",
        process_model=model,
        max_instances=concurrency,
        idle_timeout=300,
        cwd=ROOT,
        env={"DATABASE_URL": DATABASE_URL},
    )
    await scaler.start()
    event = build_event("http-api-v2", "GET", "/todos")
    latencies: list[float] = []
    cold = 0
    before = await asyncio.to_thread(_sessions)
    queue = iter(range(requests))

    async def client() -> None:
        nonlocal cold
        for _ in queue:
            started = time.perf_counter()
            outcome = await scaler.invoke(event)
            latencies.append((time.perf_counter() - started) * 1000)
            assert outcome.status == 200, outcome.error
            cold += outcome.cold

    try:
        await asyncio.gather(*(client() for _ in range(concurrency)))
    finally:
        await scaler.close()
    # The counter also saw the session that read "before".
    opened = await asyncio.to_thread(_sessions) - before - 1
    latencies.sort()
    return {
        "requests": requests,
        "median_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "cold_starts": cold,
        "connections_per_1000": opened * 1000 / requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="for the resident model")
    parser.add_argument("--per-request-requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    _prepare()
    rows = [
        ("resident", asyncio.run(_run("resident", args.requests, args.concurrency))),
        (
            "per-request",
            asyncio.run(_run("per-request", args.per_request_requests, args.concurrency)),
        ),
    ]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "command": "python -m benchmarks.process_models " + " ".join(sys.argv[1:]),
                    "date": time.strftime("%Y-%m-%d"),
                    "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
                    "python": platform.python_version(),
                    "concurrency": args.concurrency,
                    "rows": [{"model": name, **r} for name, r in rows],
                },
                indent=2,
            )
        )
    print(
        "| process model | requests | median ms | p99 ms | cold starts "
        "| DB connections per 1,000 requests |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r['requests']:.0f} | {r['median_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['cold_starts']:.0f} | {r['connections_per_1000']:.0f} |"
        )


if __name__ == "__main__":
    main()
