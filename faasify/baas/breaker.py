"""A circuit breaker around the service's database.

When the database stops answering, every request would otherwise wait for
its own connect timeout, holding a slot of the gate while it does. After
``failure_threshold`` consecutive database failures the breaker *opens*:
requests are refused at once (503 with ``Retry-After``, or a stale read from
the cache) for ``reset_timeout`` seconds; then it lets ``half_open_max``
probes through, and one success closes it again. So the service recovers by
itself when the database returns, without a thundering herd.

State is per service instance on purpose: each instance judges the health of
its own pool and network path. (``purgatory`` offers the same in asyncio,
but its Redis extra pins redis<6; the state machine is a few lines.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from faasify.baas.errors import BaaSError

__all__ = ["CircuitBreaker", "CircuitOpen"]

State = Literal["closed", "open", "half_open"]


class CircuitOpen(BaaSError):
    """The database is considered down; ``retry_after`` says when to try again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the database is unavailable; retry after {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Counts database failures and refuses work while the database is down."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 5.0,
        half_open_max: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_max = half_open_max
        self._clock = clock
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0
        #: How often the breaker has opened, for metrics.
        self.opened_total = 0

    @property
    def state(self) -> State:
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return self._state

    def before(self) -> None:
        """Call before using the database; raises :class:`CircuitOpen` to refuse."""
        state = self.state
        if state == "open":
            raise CircuitOpen(self._opened_at + self.reset_timeout - self._clock())
        if state == "half_open":
            if self._state == "open":  # the first request after the timeout
                self._state, self._probes = "half_open", 0
            if self._probes >= self.half_open_max:
                raise CircuitOpen(self.reset_timeout)
            self._probes += 1

    def abandon(self) -> None:
        """The request passed :meth:`before` but never reached the database (shed,
        cancelled): give its probe back, so a half-open breaker can probe again."""
        if self._state == "half_open" and self._probes:
            self._probes -= 1

    def success(self) -> None:
        self._state, self._failures, self._probes = "closed", 0, 0

    def failure(self) -> None:
        self._failures += 1
        if self._state == "half_open" or self._failures >= self.failure_threshold:
            if self._state != "open":
                self.opened_total += 1
            self._state, self._opened_at, self._probes = "open", self._clock(), 0
