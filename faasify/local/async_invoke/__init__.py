"""Asynchronous invocations for ``faasify local``: a queue, retries, failure records.

The front doors (the Lambda Invoke API's ``Event`` invocations, OpenFaaS's
``/async-function/``) accept an event onto a :class:`Queue` and answer 202; the
:class:`AsyncInvoker`'s dispatcher runs it later on the function's instances
under an :class:`AsyncInvocationPolicy` (retries, maximum age, on-failure
destination). The queue is in-process (:class:`MemoryQueue`) or NATS
JetStream (:class:`JetStreamQueue`, durable across restarts).
"""

from faasify.local.async_invoke.dispatcher import AsyncInvoker
from faasify.local.async_invoke.envelope import QueuedEvent
from faasify.local.async_invoke.jetstream import JetStreamQueue, stream_name
from faasify.local.async_invoke.policy import AsyncInvocationPolicy, Destination, parse_destination
from faasify.local.async_invoke.queue import Delivery, MemoryQueue, Queue
from faasify.local.async_invoke.records import failure_record

__all__ = [
    "AsyncInvocationPolicy",
    "AsyncInvoker",
    "Delivery",
    "Destination",
    "JetStreamQueue",
    "MemoryQueue",
    "Queue",
    "QueuedEvent",
    "failure_record",
    "parse_destination",
    "stream_name",
]
