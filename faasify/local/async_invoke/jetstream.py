"""The durable queue: a NATS JetStream stream, read by a durable pull consumer.

The stream (file storage, work-queue retention) keeps every accepted event until
the dispatcher acknowledges it, so events survive a restart of ``faasify
local`` and of the NATS server. An event is accepted only once the stream has
acknowledged its publish; each publish carries a ``Nats-Msg-Id``, so the stream
drops a repeat of the same publish. The consumer acknowledges explicitly: an
event whose dispatcher died is redelivered after ``ack_wait``, one still
running says so (``in_progress``) every ``heartbeat`` seconds. Uses nats-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from typing import Any

from faasify._exceptions import QueueUnavailable

__all__ = ["JetStreamQueue", "stream_name"]

logger = logging.getLogger("faasify.local")

_CONNECT_TIMEOUT = 3.0
_PUBLISH_TIMEOUT = 2.0
_DURABLE = "dispatcher"


def stream_name(text: str) -> str:
    """A stream name from a function's name (JetStream names: no dots, spaces, wildcards)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "default"
    return f"FAASIFY_ASYNC_{name}"[:200]


class _Message:
    def __init__(self, message: Any) -> None:
        self._message = message

    @property
    def data(self) -> bytes:
        return bytes(self._message.data)

    async def ack(self) -> None:
        await self._message.ack()

    async def nak(self, delay: float) -> None:
        await self._message.nak(delay=max(0.001, delay))

    async def in_progress(self) -> None:
        await self._message.in_progress()


class JetStreamQueue:
    """Events in the JetStream stream ``stream`` on the NATS server at ``url``."""

    def __init__(self, url: str, stream: str, *, ack_wait: float = 10.0) -> None:
        self.url = url
        self.stream = stream
        self.subject = f"faasify.async.{stream}"
        self.ack_wait = ack_wait
        self.heartbeat = ack_wait / 3
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._published = 0

    async def open(self) -> None:
        """Connect, and make the stream and its consumer if they are not there yet."""
        import nats
        from nats.js.api import (
            AckPolicy,
            ConsumerConfig,
            RetentionPolicy,
            StorageType,
            StreamConfig,
        )

        async def quiet(exc: Exception) -> None:
            logger.debug("NATS: %s", exc)

        async def disconnected() -> None:
            logger.warning("NATS at %s disconnected: reconnecting", self.url)

        async def reconnected() -> None:
            logger.info("NATS at %s reconnected", self.url)

        try:
            # nats-py retries the first connect forever when reconnects are on:
            # bound it, so an unreachable server is one error at start.
            self._nc = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    connect_timeout=_CONNECT_TIMEOUT,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    error_cb=quiet,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                ),
                _CONNECT_TIMEOUT * 2,
            )
            self._js = self._nc.jetstream(timeout=_PUBLISH_TIMEOUT)
            try:
                await self._js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(
                    StreamConfig(
                        name=self.stream,
                        subjects=[self.subject],
                        retention=RetentionPolicy.WORK_QUEUE,
                        storage=StorageType.FILE,
                    )
                )
            self._sub = await self._js.pull_subscribe(
                self.subject,
                durable=_DURABLE,
                stream=self.stream,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait, max_deliver=-1
                ),
            )
        except (asyncio.TimeoutError, OSError, nats.errors.Error) as exc:
            await self.close()
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, asyncio.TimeoutError):
                reason = f"no answer in {_CONNECT_TIMEOUT * 2:g} s (is nats-server -js running?)"
            raise QueueUnavailable(f"cannot use NATS JetStream at {self.url}: {reason}") from None

    async def put(self, data: bytes, message_id: str | None = None) -> None:
        await self.publish(self.subject, data, message_id)

    async def publish(self, subject: str, data: bytes, message_id: str | None = None) -> None:
        """Publish ``data`` to a stream's ``subject``; return once the stream has it."""
        import nats

        if self._js is None:
            raise QueueUnavailable("the NATS connection is closed")
        if not self._nc.is_connected:
            # nats-py would buffer the publish and send it on reconnecting: an event
            # the client was told was refused must not run after all.
            raise QueueUnavailable(f"NATS at {self.url} is disconnected")
        headers = {"Nats-Msg-Id": message_id} if message_id else None
        try:
            await self._js.publish(subject, data, timeout=_PUBLISH_TIMEOUT, headers=headers)
        except (asyncio.TimeoutError, nats.errors.Error) as exc:
            raise QueueUnavailable(
                f"NATS JetStream did not take the event: {str(exc) or type(exc).__name__}"
            ) from None

    async def ensure_subject(self, subject: str) -> None:
        """Make a stream keep ``subject`` (an on-failure destination) if none does."""
        import nats
        from nats.js.api import StorageType, StreamConfig

        try:
            await self._js.find_stream_name_by_subject(subject)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=f"{self.stream}_FAILED", subjects=[subject], storage=StorageType.FILE
                )
            )

    async def get(self, most: int) -> Sequence[_Message]:
        import nats

        while True:
            if self._sub is None:
                raise QueueUnavailable("the NATS connection is closed")
            try:
                found = await self._sub.fetch(max(1, most), timeout=1.0)
            except asyncio.TimeoutError:
                continue  # nothing yet (nats-py's TimeoutError is one too)
            except nats.errors.Error as exc:
                if self._nc is None or self._nc.is_closed:
                    raise QueueUnavailable(f"NATS closed: {exc}") from None
                await asyncio.sleep(0.5)  # disconnected: nats-py reconnects meanwhile
                continue
            return [_Message(m) for m in found]

    async def close(self) -> None:
        nc, self._nc, self._js, self._sub = self._nc, None, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.drain()
            with contextlib.suppress(Exception):
                await nc.close()

    def describe(self) -> str:
        return f"NATS JetStream {self.url} stream {self.stream}"
