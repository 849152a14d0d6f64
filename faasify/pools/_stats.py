"""What a pool did, counted: the numbers that show warm reuse working."""

from __future__ import annotations

import logging

__all__ = ["PoolStats"]

logger = logging.getLogger(__name__)


class PoolStats:
    """Counters a pool keeps for its whole life (one instance).

    ``opened``: connections made; ``reused``: checkouts served by a connection
    that was already open; ``revalidated``: checkouts that first pinged an
    idle connection (after a thaw); ``dropped``: connections found dead (closed
    by the server, a proxy or a NAT while the instance slept) and replaced.
    On a healthy warm instance ``opened`` stays at 1 while ``reused`` grows.
    """

    __slots__ = ("_name", "dropped", "opened", "reused", "revalidated")

    def __init__(self, name: str) -> None:
        self._name = name
        self.opened = 0
        self.reused = 0
        self.revalidated = 0
        self.dropped = 0

    def connection_opened(self) -> None:
        self.opened += 1
        if self.dropped:
            logger.info(
                "pool %s opened a connection to replace a dropped one (opened %d, dropped %d)",
                self._name,
                self.opened,
                self.dropped,
            )

    def connection_dropped(self, reason: str) -> None:
        self.dropped += 1
        logger.warning("pool %s dropped a dead connection: %s", self._name, reason)

    def as_dict(self) -> dict[str, int]:
        return {
            "opened": self.opened,
            "reused": self.reused,
            "revalidated": self.revalidated,
            "dropped": self.dropped,
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{key}={value}" for key, value in self.as_dict().items())
        return f"<PoolStats {self._name}: {counts}>"
