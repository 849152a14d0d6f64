"""Configuration from the environment: the stage and where the data lives.

Every value has an embedded default, so the example runs on one machine with
nothing configured: the pooled stage on a SQLite file, the BaaS service on
``http://127.0.0.1:8001``. Set ``DATABASE_URL`` (and ``REDIS_URL``) to use
PostgreSQL (and Redis) instead.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

__all__ = ["DEV_SECRET", "STAGES", "Settings", "Stage", "default_database_url"]

logger = logging.getLogger("examples.todolist")

Stage = Literal["stateful", "pooled", "baas"]
STAGES: tuple[Stage, ...] = ("stateful", "pooled", "baas")

#: Signs the demo's login tokens when ``TODO_SECRET`` is unset. Fine on a laptop,
#: never in a deployment: anyone who reads this file can mint tokens.
DEV_SECRET = "faasify-todolist-development-secret-change-me"


def default_database_url() -> str:
    """A SQLite file in the temporary directory, shared by the function and the service."""
    return f"sqlite:///{Path(tempfile.gettempdir()) / 'faasify-todolist.db'}"


def _stage(name: str) -> Stage:
    """``name`` as one of :data:`STAGES`, or the error a mistyped ``TODO_STAGE`` gets."""
    for stage in STAGES:
        if stage == name:
            return stage
    raise ValueError(f"TODO_STAGE must be one of {', '.join(STAGES)}, not {name!r}")


@dataclass(frozen=True)
class Settings:
    """What the function and the service need to know, read once per instance."""

    stage: Stage = "pooled"
    database_url: str = ""
    redis_url: str | None = None
    baas_url: str = "http://127.0.0.1:8001"
    secret: str = DEV_SECRET
    #: Seconds a login token stays valid.
    token_ttl: int = 12 * 3600
    #: Retries of the function's BaaS client on 429/503 before the user sees them.
    baas_retries: int = 2
    #: Seconds every call to the BaaS service may take.
    baas_timeout: float = 5.0
    #: The data service's limit: requests a second per user (``TODO_RATE``) ...
    rate: int = 50
    #: ... and how many it lets through at once after a quiet spell (``TODO_BURST``).
    burst: int = 100

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"TODO_STAGE must be one of {', '.join(STAGES)}, not {self.stage!r}")
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())
        for name in ("rate", "burst"):
            if getattr(self, name) < 1:
                raise ValueError(f"TODO_{name.upper()} must be at least 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``TODO_STAGE``, ``DATABASE_URL``, ``REDIS_URL``,
        ``TODO_BAAS_URL``, ``TODO_SECRET``, ``TODO_RATE`` and ``TODO_BURST``."""
        env = os.environ if environ is None else environ

        def whole(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not (raw.isascii() and raw.isdigit()):
                raise ValueError(f"{name} must be a whole number, not {raw!r}")
            return int(raw)

        secret = env.get("TODO_SECRET") or DEV_SECRET
        if secret == DEV_SECRET:
            logger.warning("TODO_SECRET is not set: login tokens use the development secret")
        return cls(
            stage=_stage(env.get("TODO_STAGE", "pooled").strip().lower()),
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL") or None,
            baas_url=env.get("TODO_BAAS_URL", "http://127.0.0.1:8001"),
            secret=secret,
            rate=whole("TODO_RATE", cls.rate),
            burst=whole("TODO_BURST", cls.burst),
        )

    def but(self, **changes: object) -> Settings:
        """A copy with ``changes`` (tests and the local runner use it)."""
        return replace(self, **changes)  # type: ignore[arg-type]
