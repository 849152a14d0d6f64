"""Asynchronous invocations on NATS JetStream, against a real server.

The shared server (127.0.0.1:4222, or NATS_URL) serves the tests that leave
it running, each on a stream of its own; the fault tests stop and start a
NATS server of their own (its own port and store), never the shared one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.local.async_support import (
    Local,
    PrivateNats,
    invoke_event,
    read_jsonl,
    spawn_local,
    stop,
    wait_until,
)

pytestmark = pytest.mark.nats

APPS = "tests.support.local.async_apps"


def done(log: Path) -> list[str]:
    return [line["done"] for line in read_jsonl(log) if "done" in line]


def started(log: Path) -> list[str]:
    return [line["ran"] for line in read_jsonl(log) if "ran" in line]


def jetstream(url: str, stream: str, *args: str) -> tuple[str, ...]:
    return ("--queue", url, "--queue-stream", stream, *args)


def test_an_event_goes_through_the_stream(
    faasify_local: Any, nats_url: str, stream: str, tmp_path: Path
) -> None:
    runtime = faasify_local(f"{APPS}:job", *jetstream(nats_url, stream))
    assert f"async on NATS JetStream {nats_url} stream {stream}" in runtime.lines.seen[-1]
    log = tmp_path / "log.jsonl"
    answer = invoke_event(runtime.url, {"log": str(log), "key": "j"})
    assert answer.status_code == 202
    wait_until(lambda: done(log) == ["j"], what="the event done")


def _read_subject(url: str, subject: str, count: int) -> list[Any]:
    import nats

    async def read() -> list[Any]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            sub = await js.subscribe(subject, deliver_policy=nats.js.api.DeliverPolicy.ALL)
            found = []
            for _ in range(count):
                message = await sub.next_msg(timeout=30)
                found.append(json.loads(message.data))
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def _publish(url: str, subject: str, data: bytes) -> None:
    import nats

    async def publish() -> None:
        nc = await nats.connect(url)
        try:
            await nc.jetstream().publish(subject, data)
        finally:
            await nc.close()

    asyncio.run(publish())


def test_failure_records_go_to_a_subject_and_junk_on_the_stream_is_dead_lettered(
    faasify_local: Any, nats_url: str, stream: str, tmp_path: Path
) -> None:
    subject = f"failed.{stream}"
    options = jetstream(nats_url, stream, "--async-backoff", "0.05", "--on-failure")
    runtime = faasify_local(f"{APPS}:job", *options, f"nats:{subject}")
    log = tmp_path / "log.jsonl"
    invoke_event(runtime.url, {"log": str(log), "key": "x", "fail": 99})
    (record,) = _read_subject(nats_url, subject, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorMessage"] == "attempt 3 of x failed"
    # A message that is not an event, published onto the stream by someone else:
    # dead-lettered at once with what is wrong with it, never run.
    _publish(nats_url, f"faasify.async.{stream}", b"{not an event")
    records = _read_subject(nats_url, subject, 2)
    junk = records[1]
    assert junk["requestContext"]["condition"] == "MalformedEvent"
    assert junk["requestContext"]["approximateInvokeCount"] == 0
    assert junk["requestPayload"] == "{not an event"
    assert junk["responsePayload"]["errorMessage"].startswith("the message is not JSON")
    assert started(log) == ["x", "x", "x"]


def test_events_acknowledged_before_a_kill_are_delivered_after_the_restart(
    nats_url: str, stream: str, tmp_path: Path
) -> None:
    log, gate = tmp_path / "log.jsonl", tmp_path / "gate"
    options = jetstream(nats_url, stream, "--max-instances", "2")
    process, port = spawn_local(f"{APPS}:job", *options)
    try:
        runtime = Local(process, port)
        accepted = []
        for n in range(20):
            event = {"log": str(log), "key": f"e{n}", "gate": str(gate)}
            answer = invoke_event(runtime.url, event)
            assert answer.status_code == 202
            accepted.append(f"e{n}")
        # Two are running (held at the gate), eighteen wait in the stream.
        wait_until(lambda: len(started(log)) == 2, what="two events in flight")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop(process)
    assert done(log) == []
    gate.touch()
    process, port = spawn_local(f"{APPS}:job", *options)
    try:
        Local(process, port)
        wait_until(lambda: set(done(log)) == set(accepted), 90, "every accepted event done")
    finally:
        stop(process)


def test_a_queue_that_goes_away_answers_503_and_loses_nothing_it_acknowledged(
    faasify_local: Any, private_nats: PrivateNats, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    runtime = faasify_local(f"{APPS}:job", *jetstream(private_nats.url, "FAASIFY_FAULTS"))
    assert invoke_event(runtime.url, {"log": str(log), "key": "before"}).status_code == 202
    wait_until(lambda: done(log) == ["before"], what="the first event done")
    private_nats.stop()
    refused = invoke_event(runtime.url, {"log": str(log), "key": "refused"})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-amzn-errortype"] == "ServiceException"
    runtime.lines.wait_for("invocations 503")
    private_nats.start()  # the same store: what it acknowledged is still there

    def accepted_again() -> bool:
        answer = invoke_event(runtime.url, {"log": str(log), "key": "after"})
        return answer.status_code == 202

    wait_until(accepted_again, 60, "the queue back")
    wait_until(lambda: "after" in done(log), 60, "the event after the outage")
    assert done(log).count("before") == 1
    assert "refused" not in started(log)  # refused means not queued, not "queued later"
    metrics = httpx.get(runtime.url + "/_faasify/metrics").text
    assert 'faasify_local_async_queued_total{source="lambda"}' in metrics
