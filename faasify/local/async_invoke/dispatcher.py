"""Asynchronous invocations: accepted onto the queue, run later, retried, settled.

:meth:`AsyncInvoker.accept` puts an event on the queue and returns once the
queue has it (the front door then answers 202). The dispatcher takes events
off the queue only while an instance slot is free for them, so a function at
its instance limit leaves the rest queued rather than throttled; each event
runs through the same :meth:`Scaler.invoke` as a synchronous request. What an
attempt comes to decides the event's fate, as on Lambda:

- it answered: done (OpenFaaS's callback gets the result);
- the function answered HTTP 429: the queue backs off (doubling waits) and
  tries again, not counting an attempt, as OpenFaaS's queue worker does;
- it failed (an error, a crash, a timeout): retried after ``backoff``, then
  twice that, up to ``maximum_retry_attempts``; after the last, a failure
  record (``RetriesExhausted``) goes to the on-failure destination;
- it outlived ``maximum_event_age`` (waiting for an instance, or between
  attempts): a failure record (``EventAgeExceeded``).

Each step is logged (one line) and counted (``faasify_local_async_*``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from typing import Any

from faasify._exceptions import ConfigurationError
from faasify.local.async_invoke.callback import Callbacks
from faasify.local.async_invoke.envelope import (
    EnvelopeError,
    QueuedEvent,
    Source,
    decode,
    encode,
)
from faasify.local.async_invoke.policy import AsyncInvocationPolicy
from faasify.local.async_invoke.queue import Delivery, MemoryQueue, Queue
from faasify.local.async_invoke.records import (
    Condition,
    FailureRecords,
    error_payload,
    failure_record,
)
from faasify.local.events import read_result
from faasify.local.runtime.request_log import LogFormat
from faasify.local.runtime.scaler import InvokeOutcome, Scaler
from faasify.local.runtime.streaming import StreamEnded

__all__ = ["AsyncInvoker"]

logger = logging.getLogger("faasify.local")


async def buffered(outcome: InvokeOutcome) -> InvokeOutcome:
    """``outcome`` with a streamed answer read whole into an HTTP result (an
    asynchronous invoke has no client to stream to), or as it is."""
    stream = outcome.stream
    if stream is None:
        return outcome
    status, headers = stream.head.result()
    chunks = []
    try:
        async for chunk in stream.body():
            chunks.append(chunk)
    except StreamEnded as exc:
        outcome.status, outcome.error, outcome.error_type = 502, str(exc), exc.error_type
        outcome.stream = None
        return outcome
    body = b"".join(chunks)
    outcome.stream = None
    outcome.status = 200  # the invoke's; the answer's own status is in the result
    outcome.result = {
        "statusCode": status,
        "headers": dict(headers),
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return outcome


def _status_of(outcome: InvokeOutcome) -> int | None:
    result = outcome.result
    if isinstance(result, dict):
        code = result.get("statusCode")
        return code if isinstance(code, int) else None
    return None


class AsyncInvoker:
    """The queue, the dispatcher reading it, and where settled events are reported."""

    def __init__(
        self,
        scaler: Scaler,
        queue: Queue | None = None,
        policy: AsyncInvocationPolicy | None = None,
        *,
        function_name: str = "faasify-local",
        log_format: LogFormat = "text",
    ) -> None:
        self.scaler = scaler
        self.queue: Queue = queue if queue is not None else MemoryQueue()
        self.policy = policy or AsyncInvocationPolicy()
        self.function_name = function_name
        self.log_format: LogFormat = log_format
        self.metrics = scaler.metrics
        self.slots = scaler.max_instances * scaler.concurrency
        self._active = 0
        self._freed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self._callbacks: Callbacks | None = None
        self._records: FailureRecords | None = None

    # -- life -----------------------------------------------------------------

    async def start(self) -> None:
        await self.queue.open()
        destination = self.policy.on_failure
        publish = getattr(self.queue, "publish", None)
        if destination is not None and destination.kind == "nats":
            ensure = getattr(self.queue, "ensure_subject", None)
            if ensure is None or publish is None:
                raise ConfigurationError("a nats: on-failure destination needs the JetStream queue")
            await ensure(destination.target)
        self._records = FailureRecords(destination, publish)
        self._callbacks = Callbacks(self.function_name)
        self._runner = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        tasks = [t for t in (self._runner, *self._settling) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner = None
        if self._callbacks is not None:
            await self._callbacks.close()
        await self.queue.close()

    # -- accepting -----------------------------------------------------------

    async def accept(
        self,
        payload: Any,
        source: Source,
        *,
        event_id: str | None = None,
        callback_url: str | None = None,
    ) -> QueuedEvent:
        """Queue ``payload``; returns once the queue keeps it (else ``QueueUnavailable``)."""
        event = QueuedEvent(payload, source, callback_url=callback_url)
        if event_id is not None:
            event = event.next(id=event_id)
        await self.queue.put(encode(event), message_id=f"{event.id}:0:0")
        self.metrics.async_queued.labels(source).inc()
        self._log(event, "queued", source=source)
        return event

    # -- dispatching ---------------------------------------------------------

    async def _run(self) -> None:
        while True:
            while self._active >= self.slots:
                self._freed.clear()
                await self._freed.wait()
            try:
                deliveries = await self.queue.get(self.slots - self._active)
            except Exception as exc:  # the queue's connection: log it, and try again
                logger.warning("async: cannot read the queue: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for delivery in deliveries:
                self._active += 1
                task = asyncio.ensure_future(self._settle(delivery))
                self._settling.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._settling.discard(task)
        self._active -= 1
        self._freed.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("async: an event could not be settled: %s", task.exception())

    async def _heartbeat(self, delivery: Delivery) -> None:
        while True:
            await asyncio.sleep(self.queue.heartbeat)
            with contextlib.suppress(Exception):
                await delivery.in_progress()

    async def _settle(self, delivery: Delivery) -> None:
        try:
            event = decode(delivery.data)
        except EnvelopeError as exc:
            malformed = {"errorMessage": str(exc), "errorType": "MalformedEvent"}
            await self._settle_failed(
                delivery, None, "MalformedEvent", malformed, raw=delivery.data, status=400
            )
            return
        policy = self.policy
        now = time.time()
        age = now - event.accepted
        expires = event.accepted + policy.maximum_event_age
        if now >= expires:
            await self._settle_failed(delivery, event, "EventAgeExceeded", event.last_error)
            return
        if event.not_before > now:
            await delivery.nak(min(event.not_before, expires) - now)
            return
        attempt = event.attempts + 1
        self.metrics.async_started.inc()
        self.metrics.async_age.observe(max(0.0, age))
        self._log(event, "started", attempt=attempt, age_ms=round(age * 1000, 2))
        beating = asyncio.ensure_future(self._heartbeat(delivery))
        started_ns = time.time_ns()
        try:
            outcome = await self.scaler.invoke(
                event.payload,
                label=f"async {event.id}",
                queue_timeout=expires - time.time(),
                request_id=event.id,
            )
            outcome = await buffered(outcome)
        finally:
            beating.cancel()
        if outcome.status == 429:  # no instance came free before the event expired
            self.metrics.async_attempts.labels("throttled").inc()
            throttled = {"errorMessage": "every instance stayed busy", "errorType": "Throttled"}
            last = event.last_error or throttled
            await self._settle_failed(delivery, event, "EventAgeExceeded", last)
            return
        error = error_payload(outcome, self.scaler.timeout)
        if error is None and _status_of(outcome) == 429:
            backoffs = event.backoffs + 1
            delay = policy.backoff_delay(backoffs)
            self.metrics.async_attempts.labels("backoff").inc()
            self._log(event, "backoff", attempt=attempt, delay_s=delay)
            again = event.next(backoffs=backoffs, not_before=time.time() + delay)
            await self._requeue(delivery, again)
            return
        ran = event.next(attempts=attempt, last_error=error)
        if error is None:
            self.metrics.async_attempts.labels("ok").inc()
            self.metrics.async_outcomes.labels("ok").inc()
            self._log(ran, "ok", attempt=attempt, duration_ms=round(outcome.duration_ms, 2))
            await self._call_back(ran, outcome, started_ns)
            await delivery.ack()
            return
        self.metrics.async_attempts.labels("error").inc()
        if attempt <= policy.maximum_retry_attempts:
            delay = policy.retry_delay(attempt)
            self._log(ran, "failed", attempt=attempt, error=error["errorMessage"], retry_s=delay)
            await self._requeue(delivery, ran.next(not_before=time.time() + delay))
            return
        await self._call_back(ran, outcome, started_ns)
        await self._settle_failed(delivery, ran, "RetriesExhausted", error, status=outcome.status)

    async def _requeue(self, delivery: Delivery, event: QueuedEvent) -> None:
        """Publish the event's next turn, then acknowledge this one (never the other way)."""
        try:
            await self.queue.put(
                encode(event), message_id=f"{event.id}:{event.attempts}:{event.backoffs}"
            )
        except Exception as exc:
            logger.warning("async %s: could not requeue (%s): redelivered later", event.id, exc)
            return
        await delivery.ack()

    async def _settle_failed(
        self,
        delivery: Delivery,
        event: QueuedEvent | None,
        condition: Condition,
        error: dict[str, Any] | None,
        *,
        raw: bytes = b"",
        status: int = 200,
    ) -> None:
        """Write the event's failure record, then acknowledge it (only then)."""
        assert self._records is not None
        record = failure_record(self.function_name, condition, event, error, raw=raw, status=status)
        outcome = {
            "RetriesExhausted": "retries_exhausted",
            "EventAgeExceeded": "event_age_exceeded",
            "MalformedEvent": "malformed",
        }[condition]
        self.metrics.async_outcomes.labels(outcome).inc()
        message = (error or {}).get("errorMessage")
        if event is None:
            logger.warning("async: a malformed message was dead-lettered: %s", message)
        else:
            self._log(
                event,
                "dead-lettered",
                condition=condition,
                attempts=event.attempts,
                error=message,
                level=logging.WARNING,
            )
        try:
            await self._records.write(record)
        except Exception as exc:
            # Not acknowledged: the event comes back (and may run once more) rather
            # than go without its record.
            logger.error("async: the failure record could not be written: %s", exc)
            await delivery.nak(5.0)
            return
        await delivery.ack()

    async def _call_back(self, event: QueuedEvent, outcome: InvokeOutcome, started: int) -> None:
        if event.callback_url is None or self._callbacks is None:
            return
        status, body, content_type = outcome.status, (outcome.error or "").encode(), "text/plain"
        if outcome.result is not None:
            try:
                result = read_result(outcome.result)
            except (KeyError, TypeError, ValueError):
                status, body = 502, b"the function returned something that is not an HTTP response"
            else:
                status, body = result.status, result.body
                found = {k.lower(): v for k, v in result.headers}
                content_type = found.get("content-type", "application/octet-stream")
        duration = outcome.duration_ms / 1000
        await self._callbacks.post(
            event.callback_url, event.id, status, body, content_type, duration, started
        )

    # -- log -------------------------------------------------------------------

    def _log(
        self, event: QueuedEvent, stage: str, *, level: int = logging.INFO, **fields: Any
    ) -> None:
        if not logger.isEnabledFor(level):
            return
        if self.log_format == "json":
            line = json.dumps({"message": "async", "event_id": event.id, "stage": stage, **fields})
        else:
            details = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            line = f"async {event.id} {stage}" + (f" {details}" if details else "")
        logger.log(level, line)
