"""Prometheus metrics of the local runtime, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["RuntimeMetrics"]

_WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_AGE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0)


class RuntimeMetrics:
    """Invocations, cold starts, instances alive and busy, wait time, throttles.

    ``faasify_local_wait_seconds`` is the time a request waited for an
    instance, the signal platforms scale on. The ``faasify_local_async_*``
    series follow asynchronous invocations: accepted onto the queue, attempts
    started, what each event came to, and its age when an attempt starts (the
    delay a queue adds, and what the maximum event age is measured against).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.invocations = Counter(
            "faasify_local_invocations",
            "Invocations by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.cold_starts = Counter(
            "faasify_local_cold_starts", "Instances started", registry=self.registry
        )
        self.throttles = Counter(
            "faasify_local_throttles", "Requests refused with 429", registry=self.registry
        )
        self.instances = Gauge("faasify_local_instances", "Instances alive", registry=self.registry)
        self.busy = Gauge(
            "faasify_local_instances_busy", "Instances serving a request", registry=self.registry
        )
        self.wait = Histogram(
            "faasify_local_wait_seconds",
            "Time a request waited for an instance",
            buckets=_WAIT_BUCKETS,
            registry=self.registry,
        )
        self.init = Histogram(
            "faasify_local_init_seconds",
            "Init phase (cold start) duration",
            registry=self.registry,
        )
        self.async_queued = Counter(
            "faasify_local_async_queued",
            "Asynchronous invocations accepted onto the queue, by front door",
            ["source"],
            registry=self.registry,
        )
        self.async_started = Counter(
            "faasify_local_async_started",
            "Attempts of asynchronous invocations started",
            registry=self.registry,
        )
        self.async_attempts = Counter(
            "faasify_local_async_attempts",
            "Attempts of asynchronous invocations, by what each came to",
            ["result"],
            registry=self.registry,
        )
        self.async_outcomes = Counter(
            "faasify_local_async_outcomes",
            "Asynchronous invocations settled, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.async_age = Histogram(
            "faasify_local_async_age_seconds",
            "Age of an asynchronous event when an attempt of it starts",
            buckets=_AGE_BUCKETS,
            registry=self.registry,
        )
