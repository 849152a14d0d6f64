"""How asynchronous invocations are retried and where failed ones go, as on Lambda.

Lambda's asynchronous invocation configuration: ``MaximumRetryAttempts`` (0 to 2,
default 2), ``MaximumEventAgeInSeconds`` (default 6 hours) and an on-failure
destination. Lambda waits about a minute before the first retry and two before
the second; ``backoff`` is that first wait (doubled for each retry after it), so
a test can shorten it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from faasify._exceptions import ConfigurationError

__all__ = ["AsyncInvocationPolicy", "Destination", "parse_destination"]


@dataclass(frozen=True)
class Destination:
    """Where failure records go: a JSON Lines file, or a NATS (JetStream) subject."""

    kind: Literal["file", "nats"]
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_destination(text: str) -> Destination:
    """``file:/path/failed.jsonl`` or ``nats:subject`` as a :class:`Destination`."""
    kind, sep, target = text.partition(":")
    if not sep or not target or kind not in ("file", "nats"):
        raise ConfigurationError(
            f"on-failure destination {text!r}: give file:/path/to/failed.jsonl or nats:subject"
        )
    if kind == "nats" and (any(c.isspace() for c in target) or "*" in target or ">" in target):
        raise ConfigurationError(f"on-failure subject {target!r} must be a plain NATS subject")
    return Destination("file" if kind == "file" else "nats", target)


@dataclass(frozen=True)
class AsyncInvocationPolicy:
    """Retries, event age and on-failure destination of asynchronous invocations."""

    maximum_retry_attempts: int = 2
    maximum_event_age: float = 6 * 3600.0  # seconds
    backoff: float = 60.0  # seconds before the first retry
    on_failure: Destination | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.maximum_retry_attempts <= 2:
            raise ConfigurationError("maximum_retry_attempts must be 0, 1 or 2 (as on Lambda)")
        if self.maximum_event_age <= 0:
            raise ConfigurationError("maximum_event_age must be positive")
        if self.backoff < 0:
            raise ConfigurationError("backoff must not be negative")

    def retry_delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based): backoff, then doubled."""
        return float(self.backoff * 2 ** max(0, attempt - 1))

    def backoff_delay(self, backoffs: int) -> float:
        """The wait after the function's ``backoffs``-th 429 (doubling, at most a minute)."""
        base = min(self.backoff, 1.0) or 0.05
        return float(min(60.0, base * 2 ** max(0, backoffs - 1)))
