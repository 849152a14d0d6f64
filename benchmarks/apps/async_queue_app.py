"""The function the asynchronous-queue benchmark invokes: it notes when it starts."""

from __future__ import annotations

import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.time()
    with open(event["log"], "a", encoding="utf-8") as file:
        file.write(f"{event['key']} {started:.6f}\n")
    return {"ok": True}
