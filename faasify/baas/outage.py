"""A dependency's outage, logged once when it starts and once when it ends.

While Redis (or the database) is unreachable, every request that touches it
fails the same way; a log line (let alone a traceback) per request would bury
everything else. :class:`OutageLog` logs the first failure as a warning with
its reason, counts the ones that follow, and logs one line when the dependency
answers again, with how many calls failed and for how long.
"""

from __future__ import annotations

import logging
import time

from faasify.baas.database.errors import describe

__all__ = ["OutageLog"]


class OutageLog:
    """``log.failed(exc)`` on each failed call, ``log.succeeded()`` on each good one."""

    def __init__(self, name: str, consequence: str, logger: logging.Logger) -> None:
        self.name = name
        self.consequence = consequence
        self._logger = logger
        self.failures = 0
        self._since = 0.0

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> None:
        if self.failures == 0:
            self._since = time.monotonic()
            self._logger.warning(
                "%s unreachable (%s); %s", self.name, describe(exc), self.consequence
            )
        self.failures += 1

    def succeeded(self) -> None:
        if self.failures:
            self._logger.info(
                "%s reachable again after %d failed calls over %.1f s",
                self.name,
                self.failures,
                time.monotonic() - self._since,
            )
            self.failures = 0
