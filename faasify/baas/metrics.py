"""Prometheus metrics of the data service, in a registry of its own.

Requests and their latency by route and status, the pool's gate (in use,
waiting), refusals (rate-limited, shed), the breaker's state and the reads
served stale: the numbers an operator scales and alerts on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from faasify.baas.breaker import CircuitBreaker
    from faasify.baas.throttle import ConcurrencyGate

__all__ = ["MetricsMiddleware", "ServiceMetrics"]

_BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class ServiceMetrics:
    def __init__(self, gate: ConcurrencyGate, breaker: CircuitBreaker) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "faasify_baas_requests",
            "Requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "faasify_baas_request_seconds",
            "Request latency",
            ["route"],
            registry=self.registry,
        )
        self.stale_reads = Counter(
            "faasify_baas_stale_reads", "Reads answered from the kept copy", registry=self.registry
        )
        in_use = Gauge(
            "faasify_baas_pool_in_use", "Requests using the pool", registry=self.registry
        )
        in_use.set_function(lambda: gate.in_use)
        waiting = Gauge(
            "faasify_baas_pool_waiting", "Requests waiting for the pool", registry=self.registry
        )
        waiting.set_function(lambda: gate.waiting)
        shed = Gauge("faasify_baas_shed", "Requests shed so far (503)", registry=self.registry)
        shed.set_function(lambda: gate.shed_total)
        state = Gauge(
            "faasify_baas_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            registry=self.registry,
        )
        state.set_function(lambda: _BREAKER_STATES[breaker.state])
        opened = Gauge(
            "faasify_baas_breaker_opened", "Times the breaker opened", registry=self.registry
        )
        opened.set_function(lambda: breaker.opened_total)


class MetricsMiddleware:
    """Counts every HTTP request by route template and status, and times it.

    Outermost, so refusals by the rate limiter are counted too.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # prometheus_client's labels() takes a lock and builds a key per call:
        # the children are looked up once per label set and kept.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._timers: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            labels = (scope["method"], template, str(status))
            counter = self._counters.get(labels)
            if counter is None:
                counter = self._counters[labels] = self.metrics.requests.labels(*labels)
            counter.inc()
            timer = self._timers.get(template)
            if timer is None:
                timer = self._timers[template] = self.metrics.latency.labels(template)
            timer.observe(time.perf_counter() - started)
