"""Non-HTTP events on Lambda: SQS, SNS, S3, EventBridge, Kinesis, DynamoDB Streams.

The same function that serves the web app can take queue messages, stream
records and scheduled events, on the same instance, loop and pools. Each
source keeps the batch semantics Lambda gives it:

* **SQS**: every record is tried; the answer lists the failed message ids in
  ``batchItemFailures`` so only those are retried (the event source mapping
  needs ``ReportBatchItemFailures``). A FIFO queue stops at the first failure
  and reports the rest as failed too, to keep the order.
* **Kinesis, DynamoDB Streams**: records are tried in order up to the first
  failure, whose sequence number is reported; Lambda retries from it, so order
  holds and nothing after it is skipped.
* **SNS, S3, EventBridge**: asynchronous invocations without partial
  responses; a failure raises after the batch, so Lambda retries the event
  (twice by default, then the dead-letter queue or on-failure destination).
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from faasify._exceptions import ConfigurationError, RecordsFailedError
from faasify.core.log import app_logger, request_id

if TYPE_CHECKING:
    from faasify.core.instance import Instance

__all__ = [
    "RecordFunction",
    "RecordSource",
    "RecordsFailedError",
    "Routes",
    "record_source",
]


RecordSource = Literal["sqs", "sns", "s3", "eventbridge", "kinesis", "dynamodb"]
RecordFunction = Callable[..., Any]

_BY_EVENT_SOURCE: dict[str, RecordSource] = {
    "aws:sqs": "sqs",
    "aws:sns": "sns",
    "aws:s3": "s3",
    "aws:kinesis": "kinesis",
    "aws:dynamodb": "dynamodb",
}


def record_source(event: Any) -> RecordSource | None:
    """Which non-HTTP source sent ``event``, from its shape; ``None`` if none."""
    if type(event) is not dict:
        return None
    records = event.get("Records")
    if type(records) is list and records and type(records[0]) is dict:
        first = records[0]
        return _BY_EVENT_SOURCE.get(str(first.get("eventSource") or first.get("EventSource")))
    if "detail-type" in event and "source" in event:
        return "eventbridge"
    return None


def _record_id(source: RecordSource, record: dict[str, Any], index: int) -> str:
    if source == "sqs":
        return str(record.get("messageId", index))
    if source == "kinesis":
        return str((record.get("kinesis") or {}).get("sequenceNumber", index))
    if source == "dynamodb":
        return str((record.get("dynamodb") or {}).get("SequenceNumber", index))
    if source == "sns":
        return str((record.get("Sns") or {}).get("MessageId", index))
    s3 = record.get("s3") or {}
    return str((s3.get("object") or {}).get("key", index))


def _takes_context(function: RecordFunction) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class Routes:
    """The functions registered per record source, and how each batch is run."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        self._functions: dict[RecordSource, tuple[RecordFunction, bool]] = {}

    def register(self, source: RecordSource, function: RecordFunction) -> RecordFunction:
        if source in self._functions:
            raise ConfigurationError(f"a function is already registered for {source} events")
        self._functions[source] = (function, _takes_context(function))
        return function

    def __contains__(self, source: object) -> bool:
        return source in self._functions

    def _call(self, source: RecordSource, payload: Any, context: Any) -> Any:
        function, with_context = self._functions[source]
        result = function(payload, context) if with_context else function(payload)
        if inspect.isawaitable(result):
            return self._instance.loop.run_until_complete(result)
        return result

    def dispatch(self, source: RecordSource, event: dict[str, Any], context: Any) -> Any:
        """Run ``event`` through the function registered for ``source``."""
        if source == "eventbridge":
            return self._call(source, event, context)
        records: list[dict[str, Any]] = event["Records"]
        ordered = source in ("kinesis", "dynamodb") or (
            source == "sqs" and str(records[0].get("eventSourceARN", "")).endswith(".fifo")
        )
        failed: list[str] = []
        for index, record in enumerate(records):
            record_id = _record_id(source, record, index)
            try:
                self._call(source, record, context)
            except Exception as exc:
                _log_failure(source, record_id, exc, context)
                failed.append(record_id)
                if ordered:
                    if source == "sqs":  # FIFO: the rest must wait for this one
                        failed += [_record_id(source, r, i) for i, r in enumerate(records)][
                            index + 1 :
                        ]
                    break
        if source in ("sqs", "kinesis", "dynamodb"):
            return {"batchItemFailures": [{"itemIdentifier": item} for item in failed]}
        if failed:
            raise RecordsFailedError(source, failed)
        return {"processed": len(records)}


def _log_failure(source: str, record_id: str, exc: BaseException, context: Any) -> None:
    app_logger.error(
        json.dumps(
            {
                "message": "record failed",
                "request_id": request_id(context),
                "source": source,
                "record_id": record_id,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )
    )
