"""The todolist's three stages side by side: latency through the adapter, and the
PostgreSQL connections each holds.

``python -m benchmarks.todolist_stages [--instances N] [--requests M]`` makes N
instances of the function (each its own app, store and ``faasify.handler``, as N
warm FaaS instances would be) for each stage and framework, sends M requests
round-robin over them as API Gateway HTTP API v2 events (half creates, half
lists of 20), and prints a Markdown table: median and p95 latency per request as
the handler answers it, and the backends PostgreSQL counts for the database while
the instances are warm, split between the functions and the data service.

It runs on a database of its own (created and dropped) on ``DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``). The data service runs in
a thread of the same process, so the BaaS figures include its work on the same
CPU; on a platform it runs on machines of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import uvicorn

import faasify
from examples.todolist.service import build_service
from examples.todolist.settings import STAGES, Settings, Stage
from faasify.adapters.aws.events import build_event, read_result

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "todolist-benchmark-secret-0123456789abcdef"


def _plain(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


class Database:
    """A database of the benchmark's own, and its backend count."""

    def __init__(self, server_url: str) -> None:
        self.server_url = _plain(server_url)
        self.name = f"todolist_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = self.server_url.rsplit("/", 1)[0] + f"/{self.name}"

    def backends(self) -> int:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def drop(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ServiceThread:
    def __init__(self, settings: Settings, pool_size: int) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = build_service(settings, rate=1_000_000, burst=1_000_000, pool_size=pool_size).app
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _instance(framework: str, settings: Settings) -> tuple[Any, Callable[[], None]]:
    if framework != "flask":
        from examples.todolist import fastapi_app

        asgi = faasify.handler(fastapi_app.create_app(settings), handle_signals=False)
        return asgi, asgi.close  # the app's lifespan closes its store
    from examples.todolist import flask_app
    from examples.todolist.stores import run_sync

    app = flask_app.create_app(settings)
    handler = faasify.handler(app, handle_signals=False)

    def close() -> None:
        handler.close()
        run_sync(app.extensions["todolist"].store.close())

    return handler, close


def _invoke(handler: Any, method: str, path: str, token: str, body: Any = None) -> int:
    headers = [("authorization", f"Bearer {token}"), ("content-type", "application/json")]
    data = json.dumps(body).encode() if body is not None else b""
    query = "limit=20" if method == "GET" else ""
    result = read_result(handler(build_event("http-api-v2", method, path, query, headers, data)))
    return result.status


def run_stage(
    framework: str, stage: Stage, db: Database, instances: int, requests: int, service_pool: int
) -> dict[str, Any]:
    settings = Settings(stage=stage, secret=SECRET, database_url=db.url)
    service = ServiceThread(settings, service_pool) if stage == "baas" else None
    if service is not None:
        settings = settings.but(baas_url=service.url)
    made = [_instance(framework, settings) for _ in range(instances)]
    handlers = [handler for handler, _ in made]
    try:
        login = read_result(
            handlers[0](
                build_event(
                    "http-api-v2",
                    "POST",
                    "/api/login",
                    "",
                    [("content-type", "application/json")],
                    json.dumps({"username": f"bench-{uuid.uuid4().hex[:6]}"}).encode(),
                )
            )
        )
        token = json.loads(login.body)["token"]
        for handler in handlers:  # warm every instance: its cold start is not measured
            _invoke(handler, "POST", "/api/todos", token, {"text": "warm"})
        creates: list[float] = []
        lists: list[float] = []
        for n in range(requests):
            handler = handlers[n % instances]
            started = time.perf_counter()
            if n % 2:
                status = _invoke(handler, "GET", "/api/todos", token)
                lists.append(time.perf_counter() - started)
            else:
                status = _invoke(handler, "POST", "/api/todos", token, {"text": f"todo {n}"})
                creates.append(time.perf_counter() - started)
            if status >= 400:
                raise RuntimeError(f"{framework}/{stage}: request {n} answered {status}")
        held = db.backends()
        all_ms = sorted(1000 * t for t in creates + lists)
        return {
            "framework": framework,
            "stage": stage,
            "instances": instances,
            "create_p50_ms": 1000 * statistics.median(creates),
            "list_p50_ms": 1000 * statistics.median(lists),
            "p95_ms": all_ms[int(0.95 * (len(all_ms) - 1))],
            "backends": held,
            "service_pool": service_pool if service else 0,
        }
    finally:
        for _, close in made:
            close()
        if service is not None:
            service.stop()
        deadline = time.monotonic() + 5
        while db.backends() and time.monotonic() < deadline:
            time.sleep(0.05)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| stage | framework | instances | create p50 | list p50 | p95 | PostgreSQL backends |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if r["stage"] == "stateful":
            held = "0 (no shared data)"
        elif r["stage"] == "pooled":
            held = f"{r['backends']} (functions)"
        else:
            held = f"{r['backends']} (the service; functions: 0)"
        lines.append(
            f"| {r['stage']} | {r['framework']} | {r['instances']} "
            f"| {r['create_p50_ms']:.2f} ms | {r['list_p50_ms']:.2f} ms | {r['p95_ms']:.2f} ms "
            f"| {held} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.todolist_stages")
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--service-pool", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    db = Database(DATABASE_URL)
    rows = []
    try:
        for stage in STAGES:
            for framework in ("flask", "fastapi"):
                rows.append(
                    run_stage(
                        framework, stage, db, args.instances, args.requests, args.service_pool
                    )
                )
    finally:
        db.drop()
    print(table(rows))
    print(
        f"\n{args.instances} warm instances per row, {args.requests} requests round-robin "
        f"(half creates, half lists of 20), service pool {args.service_pool}; "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; `python -m benchmarks.todolist_stages`"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"rows": rows, "argv": sys.argv}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
