"""Event sources: recognise an invocation event's shape and pick its codec.

Detection reads only a few keys that tell the shapes apart, in an order where
the distinguishing key comes first, so it costs a handful of dict lookups per
invoke and never needs configuration.
"""

from __future__ import annotations

from typing import Any

from faasify.adapters.events._common import EventOptions, check_base_path
from faasify.adapters.events._source import EventSource
from faasify.adapters.events.alb import ApplicationLoadBalancer
from faasify.adapters.events.apigw_v1 import ApiGatewayV1
from faasify.adapters.events.apigw_v2 import ApiGatewayV2

__all__ = [
    "ALB",
    "ALB_MULTI_VALUE",
    "FUNCTION_URL",
    "HTTP_API_V1",
    "HTTP_API_V2",
    "REST_API",
    "REST_API_SINGLE_VALUE",
    "EventOptions",
    "EventSource",
    "check_base_path",
    "describe_event",
    "detect_source",
    "is_warmup_event",
]

REST_API = ApiGatewayV1("apigw-rest", http_api=False, multi_value=True)
REST_API_SINGLE_VALUE = ApiGatewayV1("apigw-rest", http_api=False, multi_value=False)
HTTP_API_V1 = ApiGatewayV1("apigw-http-v1", http_api=True, multi_value=True)
_HTTP_API_V1_SINGLE_VALUE = ApiGatewayV1("apigw-http-v1", http_api=True, multi_value=False)
HTTP_API_V2 = ApiGatewayV2("apigw-http-v2", function_url=False)
FUNCTION_URL = ApiGatewayV2("function-url", function_url=True)
ALB = ApplicationLoadBalancer("alb", multi_value=False)
ALB_MULTI_VALUE = ApplicationLoadBalancer("alb-multi-value", multi_value=True)


def detect_source(event: Any) -> EventSource | None:
    """The source whose shape ``event`` has, or ``None`` if it is not an HTTP event."""
    if type(event) is not dict:
        return None
    ctx = event.get("requestContext")
    if type(ctx) is not dict:
        return None
    if event.get("version") == "2.0" and ("http" in ctx or "rawPath" in event):
        domain = ctx.get("domainName")
        if type(domain) is str and ".lambda-url." in domain:
            return FUNCTION_URL
        return HTTP_API_V2
    if "httpMethod" not in event:
        return None
    if "elb" in ctx:
        return ALB_MULTI_VALUE if "multiValueHeaders" in event else ALB
    multi = "multiValueHeaders" in event
    if event.get("version") == "1.0":
        return HTTP_API_V1 if multi else _HTTP_API_V1_SINGLE_VALUE
    return REST_API if multi else REST_API_SINGLE_VALUE


def is_warmup_event(event: Any) -> bool:
    """A keep-warm ping from serverless-plugin-warmup (``source`` names the plugin)."""
    return type(event) is dict and event.get("source") == "serverless-plugin-warmup"


_RECORD_SOURCES = {
    "aws:sqs": "an SQS message batch",
    "aws:sns": "an SNS notification",
    "aws:s3": "an S3 notification",
    "aws:kinesis": "a Kinesis stream batch",
    "aws:dynamodb": "a DynamoDB stream batch",
    "aws:ses": "an SES notification",
}


def describe_event(event: Any) -> str:
    """A short, log-safe description of an event's shape (never its values)."""
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not a JSON object"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        first = records[0]
        origin = first.get("eventSource") or first.get("EventSource")
        kind = _RECORD_SOURCES.get(str(origin), "a batch of records")
        return f"{kind} (Records[0].eventSource={origin!r}, {len(records)} record(s))"
    if "detail-type" in event and "source" in event:
        return (
            f"an EventBridge event (source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r})"
        )
    if (
        "requestContext" in event
        and "routeKey" in event
        and "connectionId" in str(event.get("requestContext"))
    ):
        return "an API Gateway WebSocket event"
    keys = sorted(str(key) for key in event)[:12]
    return f"an object with keys {keys}"
