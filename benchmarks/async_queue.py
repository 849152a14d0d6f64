"""Asynchronous invokes through ``faasify local``'s queues: throughput, delay, losses.

``python -m benchmarks.async_queue [--events 1000] [--nats nats://127.0.0.1:4222]
[--json PATH]`` starts ``faasify local`` on ``benchmarks/apps/async_queue_app.py`` (a
function that notes when it starts) and measures, from an HTTP client:

* asynchronous invokes per second, through the in-process queue and through
  NATS JetStream: ``--events`` Event invokes sent by ``--concurrency`` clients,
  from the first send until the function has started the last one;
* the delay from accept to start: one Event invoke at a time, the time from
  sending it to the function starting it (median), as a ratio to the round
  trip of a synchronous (RequestResponse) invoke of the same function;
* events lost across a restart under load (JetStream): clients keep sending
  while ``faasify local`` is killed (SIGKILL) and started again; every event
  that was answered 202 must then run (goal: 0 lost). Duplicates (an event
  that ran before the kill but was not acknowledged yet) are counted too.

It prints a Markdown table; ``--json`` writes the figures as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TARGET = "benchmarks.apps.async_queue_app:handler"
INVOKE = "/2015-03-31/functions/bench/invocations"
EVENT = {"X-Amz-Invocation-Type": "Event"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Runtime:
    """``faasify local`` on the benchmark's function, as a process."""

    def __init__(self, queue: str, stream: str, max_instances: int, port: int = 0) -> None:
        self.port = port or _free_port()
        command = [sys.executable, "-m", "faasify.cli", "local", TARGET]
        command += ["--port", str(self.port), "--max-instances", str(max_instances)]
        command += ["--queue", queue, "--queue-stream", stream, "--log-format", "json"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "faasify local: http://" in line:
                break
        else:
            raise RuntimeError(f"faasify local ({queue}) did not start")
        # Drain the log so the runtime never blocks on a full pipe.
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _started(log: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            key, _, at = line.partition(" ")
            if at:
                found.setdefault(key, []).append(float(at))
    return found


async def _until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.01)
    return bool(condition())


async def _throughput(url: str, log: Path, events: int, concurrency: int) -> float:
    keys = iter(range(events))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = time.perf_counter()

        async def sender() -> None:
            for n in keys:
                event = {"log": str(log), "key": f"t{n}"}
                answer = await client.post(INVOKE, json=event, headers=EVENT)
                answer.raise_for_status()

        await asyncio.gather(*(sender() for _ in range(concurrency)))
        if not await _until(lambda: len(_started(log)) >= events, 300):
            raise RuntimeError(f"only {len(_started(log))} of {events} events ran")
        return events / (time.perf_counter() - started)


async def _latency(url: str, log: Path, rounds: int) -> tuple[float, float]:
    """(median accept-to-start of an Event invoke, median synchronous round trip), in ms."""
    delays, trips = [], []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for n in range(rounds):
            event = {"log": str(log), "key": f"s{n}"}
            sent = time.perf_counter()
            answer = await client.post(INVOKE, json=event)
            trips.append((time.perf_counter() - sent) * 1000)
            answer.raise_for_status()
            key = f"a{n}"
            event = {"log": str(log), "key": key}
            sent_at = time.time()
            answer = await client.post(INVOKE, json=event, headers=EVENT)
            answer.raise_for_status()
            await _until(lambda key=key: key in _started(log), 30)
            delays.append((_started(log)[key][0] - sent_at) * 1000)
    return statistics.median(delays), statistics.median(trips)


async def _restart(nats: str, log: Path, seconds: float, concurrency: int) -> dict[str, int]:
    """Send for ``seconds``, killing and restarting the runtime half way."""
    stream = f"FAASIFY_BENCH_{uuid.uuid4().hex[:8]}"
    runtime = Runtime(nats, stream, 2)
    port = runtime.port
    accepted: list[str] = []
    refused = 0
    stop_at = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def sender() -> None:
        nonlocal refused
        async with httpx.AsyncClient(timeout=10) as client:
            while time.monotonic() < stop_at:
                key = f"r{next(counter)}"
                try:
                    answer = await client.post(
                        f"http://127.0.0.1:{port}{INVOKE}",
                        json={"log": str(log), "key": key},
                        headers=EVENT,
                    )
                except httpx.HTTPError:
                    refused += 1
                    await asyncio.sleep(0.01)
                    continue
                if answer.status_code == 202:
                    accepted.append(key)
                else:
                    refused += 1

    async def killer() -> None:
        nonlocal runtime
        await asyncio.sleep(seconds / 2)
        runtime.kill()
        runtime = await asyncio.get_running_loop().run_in_executor(
            None, lambda: Runtime(nats, stream, 2, port)
        )

    try:
        await asyncio.gather(killer(), *(sender() for _ in range(concurrency)))
        want = set(accepted)
        await _until(lambda: want <= set(_started(log)), 120)
        ran = _started(log)
        lost = len(want - set(ran))
        duplicates = sum(len(ran[k]) - 1 for k in want if k in ran)
    finally:
        runtime.stop()
        await _delete_stream(nats, stream)
    return {"accepted": len(accepted), "refused": refused, "lost": lost, "duplicates": duplicates}


async def _delete_stream(nats_url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(stream)
    except Exception:
        pass
    finally:
        await nc.close()


async def _measure(queue: str, events: int, concurrency: int, rounds: int) -> dict[str, float]:
    stream = f"FAASIFY_BENCH_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "started.log"
        runtime = Runtime(queue, stream, 2)
        try:
            # Warm both instances first: cold starts are not the queue's.
            await _throughput(runtime.url, Path(directory) / "warm.log", 20, 4)
            rate = await _throughput(runtime.url, log, events, concurrency)
            delay, trip = await _latency(runtime.url, Path(directory) / "lat.log", rounds)
        finally:
            runtime.stop()
            if queue != "memory":
                await _delete_stream(queue, stream)
    return {"invokes_per_s": rate, "accept_to_start_ms": delay, "sync_ms": trip}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results = {"memory": await _measure("memory", args.events, args.concurrency, args.rounds)}
    results["jetstream"] = await _measure(args.nats, args.events, args.concurrency, args.rounds)
    with tempfile.TemporaryDirectory() as directory:
        restart = await _restart(
            args.nats, Path(directory) / "restart.log", args.restart_seconds, args.concurrency
        )
    return {"results": results, "restart": restart}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.async_queue")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=50, help="invokes timed one at a time")
    parser.add_argument("--restart-seconds", type=float, default=6.0)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    record = asyncio.run(main_async(args))
    print(f"{args.events} events, {args.concurrency} clients, 2 instances")
    print("| queue | async invokes/s | accept to start (ms) | sync invoke (ms) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, label in (("memory", "in-process"), ("jetstream", "NATS JetStream")):
        r = record["results"][name]
        r["ratio"] = r["accept_to_start_ms"] / r["sync_ms"]
        print(
            f"| {label} | {r['invokes_per_s']:.0f} | {r['accept_to_start_ms']:.2f} "
            f"| {r['sync_ms']:.2f} | {r['ratio']:.2f} |"
        )
    restart = record["restart"]
    print(
        f"restart under load (SIGKILL, JetStream): {restart['accepted']} accepted, "
        f"{restart['refused']} refused while down, {restart['lost']} lost, "
        f"{restart['duplicates']} run twice"
    )
    record["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return 1 if restart["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
