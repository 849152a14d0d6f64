"""OpenFaaS's callback: the result of an asynchronous invoke, POSTed to ``X-Callback-Url``.

As OpenFaaS's queue worker sends it: the function's response body, its
``Content-Type``, the status in ``X-Function-Status``, the call's id in
``X-Call-Id``, the run's duration in ``X-Duration-Seconds`` and its start in
``X-Start-Time`` (Unix nanoseconds). A callback that fails is logged, not
retried (the invoke itself succeeded or was settled).
"""

from __future__ import annotations

import logging

import httpx

__all__ = ["Callbacks"]

logger = logging.getLogger("faasify.local")


class Callbacks:
    """One HTTP client for every callback, made at start rather than per invoke."""

    def __init__(self, function_name: str, timeout: float = 10.0) -> None:
        self.function_name = function_name
        self._client = httpx.AsyncClient(timeout=timeout)

    async def post(
        self,
        url: str,
        call_id: str,
        status: int,
        body: bytes,
        content_type: str | None,
        duration: float,
        started_ns: int,
    ) -> None:
        headers = {
            "X-Call-Id": call_id,
            "X-Function-Status": str(status),
            "X-Function-Name": self.function_name,
            "X-Duration-Seconds": f"{duration:.6f}",
            "X-Start-Time": str(started_ns),
            "Content-Type": content_type or "application/octet-stream",
        }
        try:
            answer = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("callback for %s to %s failed: %s", call_id, url, exc)
            return
        if answer.status_code >= 400:
            logger.warning("callback for %s to %s answered %d", call_id, url, answer.status_code)

    async def close(self) -> None:
        await self._client.aclose()
