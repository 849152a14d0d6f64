"""N simulated function instances doing list + create: through the data service,
with a database connection each, and through PgBouncer in transaction mode.

``python -m benchmarks.baas_load [--instances 50 200] [--seconds 5]`` prints a
Markdown table: throughput (and its ratio to direct access and to PgBouncer),
p50/p99 latency of one list+create, errors by kind, the peak number of
PostgreSQL backends the path held during the run (polled from
``pg_stat_activity``; each path's connections carry an ``application_name`` of
their own, so neither the other paths' idle pools nor other clients of a shared
database are counted), and the CPU the service's processes spent per
list+create (from ``/proc/<pid>/stat``). Every loop is bounded in time and runs
on loopback. PgBouncer (Debian's ``pgbouncer``) is started by the script when
installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.support.pgbouncer import pgbouncer_binary, running_pgbouncer

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TABLE = "faasify_bench_baas"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(*, recreate: bool) -> None:
    """An empty table with fresh statistics, so that every path starts alike.

    The list is "my rows, in id order": an index on (owner, id) answers it by
    reading 11 rows. Without it PostgreSQL reads every row of the owner and
    sorts them, so the list would get slower as the run inserts, and each path
    would be measured on a bigger table than the one before.
    """
    conn = await asyncpg.connect(PG)
    try:
        if recreate:
            await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            await conn.execute(
                f"CREATE TABLE {TABLE} (id serial PRIMARY KEY, owner varchar(64) NOT NULL,"
                " text varchar(200) NOT NULL, done boolean NOT NULL DEFAULT false)"
            )
            await conn.execute(f"CREATE INDEX ix_{TABLE}_owner_id ON {TABLE} (owner, id)")
        await conn.execute(f"TRUNCATE {TABLE}")
        await conn.execute(f"ANALYZE {TABLE}")
    finally:
        await conn.close()


_COUNT = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND application_name = $1"
)
#: The ``application_name`` of each path's connections (PgBouncer passes its
#: clients' on to its server connections; the service sets its own).
LABELS = {
    "service": "faasify-bench-service",
    "direct": "faasify-bench-direct",
    "pgbouncer": "faasify-bench-pgbouncer",
}


async def _count_backends(label: str) -> int:
    conn = await asyncpg.connect(PG)
    try:
        return int(await conn.fetchval(_COUNT, label))
    finally:
        await conn.close()


async def _backends(stop: asyncio.Event, peak: list[int], label: str) -> None:
    conn = await asyncpg.connect(PG)
    try:
        while not stop.is_set():
            count = await conn.fetchval(_COUNT, label)
            peak[0] = max(peak[0], int(count))
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def _worker(
    args: tuple[int, float, str, str, dict[str, Any]],
) -> tuple[list[float], dict[str, int]]:
    """One load process: ``count`` instances of one path; returns latencies and errors."""
    count, seconds, path, target, options = args
    if path == "service":
        work: Any = lambda i: _ThroughService(target, i)  # noqa: E731
    elif path == "service-lean":
        work = lambda i: _ThroughServiceLean(target, i)  # noqa: E731
    else:
        work = lambda i: _Direct(target, i, **options)  # noqa: E731
    return asyncio.run(_instances(count, seconds, work))


async def _instances(count: int, seconds: float, work: Any) -> tuple[list[float], dict[str, int]]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async def instance(number: int) -> None:
        try:
            async with work(number) as step:
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    try:
                        await step()
                    except Exception as exc:
                        errors[type(exc).__name__] += 1
                        await asyncio.sleep(0.05)
                        continue
                    latencies.append(time.perf_counter() - started)
        except Exception as exc:  # the instance could not even start (no connection)
            errors[type(exc).__name__] += 1

    await asyncio.gather(*(instance(n) for n in range(count)))
    return latencies, dict(errors)


async def _run_spread(
    instances: int,
    seconds: float,
    path: str,
    target: str,
    options: dict[str, Any],
    processes: int,
    label: str,
) -> dict[str, Any]:
    """N instances spread over ``processes`` load processes, so that the load generator
    is not what limits the path being measured; ``label`` names its backends."""
    from concurrent.futures import ProcessPoolExecutor

    stop = asyncio.Event()
    before = await _count_backends(label)
    peak = [0]
    watcher = asyncio.ensure_future(_backends(stop, peak, label))
    shares = [instances // processes + (i < instances % processes) for i in range(processes)]
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(processes) as pool:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _worker, (share, seconds, path, target, options))
                for share in shares
                if share
            )
        )
    stop.set()
    await watcher
    latencies = sorted(x for part, _ in parts for x in part)
    errors: Counter[str] = Counter()
    for _, part_errors in parts:
        errors.update(part_errors)
    return {
        "ops": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
        "errors": dict(errors),
        "peak": peak[0],
        "before": before,
    }


class _Direct:
    """A function instance holding its own database connection."""

    def __init__(self, dsn: str, number: int, **options: Any) -> None:
        self.dsn, self.number, self.options = dsn, number, options

    async def __aenter__(self) -> Any:
        self.conn = await asyncpg.connect(self.dsn, timeout=5, **self.options)

        async def step() -> None:
            await self.conn.fetch(
                f"SELECT id, text, done FROM {TABLE} WHERE owner = $1 ORDER BY id LIMIT 10",
                "public",
            )
            await self.conn.execute(
                f"INSERT INTO {TABLE} (owner, text) VALUES ($1, $2)", "public", "x"
            )

        return step

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()


class _ThroughService:
    """A function instance calling the data service (its own keep-alive client)."""

    def __init__(self, base_url: str, number: int) -> None:
        self.base_url = base_url

    async def __aenter__(self) -> Any:
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=30)

        async def step() -> None:
            listed = await self.http.get("/v1/todos", params={"limit": 10})
            created = await self.http.post("/v1/todos", json={"text": "x"})
            for response in (listed, created):
                if response.status_code >= 400:
                    raise RuntimeError(f"HTTP {response.status_code}")

        return step

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


class _ThroughServiceLean:
    """A function instance calling the data service over one keep-alive HTTP/1.1
    connection with a minimal client.

    What a simulated function spends on its own side is spent on the same two
    cores as the service and PostgreSQL; httpx costs several times the
    service's own CPU per request, which would measure the load generator. A
    function's CPU is its own in production, so this client spends as little as
    asyncpg does on the direct path.
    """

    def __init__(self, base_url: str, number: int) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)

    async def __aenter__(self) -> Any:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        host = f"{self.host}:{self.port}".encode()
        listing = b"GET /v1/todos?limit=10 HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
        body = b'{"text": "x"}'
        creating = (
            b"POST /v1/todos HTTP/1.1\r\nHost: " + host + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

        async def step() -> None:
            for request in (listing, creating):
                self.writer.write(request)
                head = await self.reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await self.reader.readexactly(length)
                if status >= 400:
                    raise RuntimeError(f"HTTP {status}")

        return step

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()


def _start_service(workers: int, pool_size: int) -> tuple[subprocess.Popen[bytes], str]:
    """The service under uvicorn, ``workers`` processes sharing ``pool_size`` connections."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.apps.baas_service:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": PG, "BAAS_POOL_SIZE": str(pool_size // workers)},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its children, from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--processes", type=int, default=4, help="load processes the instances are spread over"
    )
    parser.add_argument(
        "--service-workers", type=int, default=2, help="uvicorn workers of the service"
    )
    parser.add_argument(
        "--pool-size", type=int, default=10, help="the service's connections, over all workers"
    )
    parser.add_argument(
        "--client",
        choices=["lean", "httpx"],
        default="lean",
        help="how simulated functions call the service: a minimal HTTP/1.1 client "
        "(their CPU is not the service's in production) or httpx (as faasify.baas.Client)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    asyncio.run(_prepare(recreate=True))
    service, base_url = _start_service(args.service_workers, args.pool_size)
    rows: list[tuple[int, str, dict[str, Any]]] = []
    with contextlib.ExitStack() as stack:
        bouncer_dsn = (
            stack.enter_context(running_pgbouncer(pool_size=args.pool_size))
            if pgbouncer_binary()
            else None
        )
        stack.callback(_stop, service)
        service_name = (
            f"data service ({args.service_workers} workers, pool {args.pool_size}, "
            f"{args.client} client)"
        )
        for n in args.instances:
            direct = {"server_settings": {"application_name": LABELS["direct"]}}
            paths: list[tuple[str, str, str, dict[str, Any], str]] = [
                (
                    service_name,
                    "service-lean" if args.client == "lean" else "service",
                    base_url,
                    {},
                    LABELS["service"],
                ),
                ("direct, a connection each", "direct", PG, direct, LABELS["direct"]),
            ]
            if bouncer_dsn:
                # Debian's PgBouncer predates prepared-statement support.
                paths.append(
                    (
                        f"PgBouncer, transaction mode (pool {args.pool_size})",
                        "direct",
                        bouncer_dsn,
                        {
                            "statement_cache_size": 0,
                            "server_settings": {"application_name": LABELS["pgbouncer"]},
                        },
                        LABELS["pgbouncer"],
                    )
                )
            for name, path, target, options, label in paths:
                asyncio.run(_prepare(recreate=False))
                cpu_before = _tree_cpu(service.pid)
                result = asyncio.run(
                    _run_spread(n, args.seconds, path, target, options, args.processes, label)
                )
                if path.startswith("service") and result["ops"]:
                    spent = _tree_cpu(service.pid) - cpu_before
                    result["cpu_ms_per_op"] = spent * 1000 / (result["ops"] * args.seconds)
                rows.append((n, name, result))
                time.sleep(1.0)  # let closed backends go before the next run counts
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": "python -m benchmarks.baas_load " + " ".join(sys.argv[1:]),
                    "date": time.strftime("%Y-%m-%d"),
                    "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
                    "python": platform.python_version(),
                    "rows": [{"instances": n, "path": name, **r} for n, name, r in rows],
                },
                indent=2,
            )
        )
    print(
        "| instances | path | list+create per s | x direct | x PgBouncer | p50 ms | p99 ms "
        "| errors | peak backends (its own) | of which open before the run "
        "| service CPU ms per op |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for n, name, r in rows:
        same = {other: result["ops"] for m, other, result in rows if m == n}
        direct_ops = next((ops for other, ops in same.items() if other.startswith("direct")), 0)
        bouncer_ops = next((ops for other, ops in same.items() if other.startswith("PgBouncer")), 0)
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none"
        cpu = f"{r['cpu_ms_per_op']:.2f}" if "cpu_ms_per_op" in r else ""
        print(
            f"| {n} | {name} | {r['ops']:.0f} | {_ratio(r['ops'], direct_ops)} "
            f"| {_ratio(r['ops'], bouncer_ops)} | {r['p50']:.1f} | {r['p99']:.1f} | {errors} "
            f"| {r['peak']} | {r['before']} | {cpu} |"
        )


def _ratio(ops: float, reference: float) -> str:
    return f"{ops / reference:.2f}x" if reference else ""


if __name__ == "__main__":
    main()
