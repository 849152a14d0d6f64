"""The AWS HTTP event codecs, and the detection that picks one per event.

Detection reads only a few keys that tell the shapes apart, in an order where
the distinguishing key comes first, so it costs a handful of dict lookups per
invoke and never needs configuration.
"""

from __future__ import annotations

from typing import Any

from faasify.adapters.aws.codecs._codec import AwsCodec, CodecOptions
from faasify.adapters.aws.codecs.alb import ApplicationLoadBalancer
from faasify.adapters.aws.codecs.apigw_v1 import ApiGatewayV1
from faasify.adapters.aws.codecs.apigw_v2 import ApiGatewayV2

__all__ = [
    "AwsCodec",
    "AwsCodecs",
    "CodecOptions",
    "describe_event",
    "is_warmup_event",
]


class AwsCodecs:
    """One handler's codec for every AWS shape, and :meth:`detect` to pick one.

    Built once per handler, with its options, at cold start.
    """

    __slots__ = (
        "_edge_origin_request",
        "_edge_viewer_request",
        "_lattice_v1",
        "_lattice_v2",
        "alb",
        "alb_multi_value",
        "function_url",
        "http_api_v1",
        "http_api_v1_single",
        "http_api_v2",
        "options",
        "rest",
        "rest_single",
    )

    def __init__(self, options: CodecOptions) -> None:
        self.rest = ApiGatewayV1(options, http_api=False, multi_value=True)
        self.rest_single = ApiGatewayV1(options, http_api=False, multi_value=False)
        self.http_api_v1 = ApiGatewayV1(options, http_api=True, multi_value=True)
        self.http_api_v1_single = ApiGatewayV1(options, http_api=True, multi_value=False)
        self.http_api_v2 = ApiGatewayV2(options, function_url=False)
        self.function_url = ApiGatewayV2(options, function_url=True)
        self.alb = ApplicationLoadBalancer(options, multi_value=False)
        self.alb_multi_value = ApplicationLoadBalancer(options, multi_value=True)
        self.options = options
        # The shapes detection reaches last are built (and their modules
        # imported) by the first event of theirs: a function behind API Gateway
        # never pays for VPC Lattice or Lambda@Edge.
        self._lattice_v1: AwsCodec | None = None
        self._lattice_v2: AwsCodec | None = None
        self._edge_viewer_request: AwsCodec | None = None
        self._edge_origin_request: AwsCodec | None = None

    @property
    def lattice_v1(self) -> AwsCodec:
        return self._lattice_v1 or self._rare("lattice_v1")

    @property
    def lattice_v2(self) -> AwsCodec:
        return self._lattice_v2 or self._rare("lattice_v2")

    @property
    def edge_viewer_request(self) -> AwsCodec:
        return self._edge_viewer_request or self._rare("edge_viewer_request")

    @property
    def edge_origin_request(self) -> AwsCodec:
        return self._edge_origin_request or self._rare("edge_origin_request")

    def _rare(self, name: str) -> AwsCodec:
        """The codec of a shape detection reaches last, built on first use."""
        options = self.options
        codec: AwsCodec
        if name == "lattice_v1":
            from faasify.adapters.aws.codecs.lattice_v1 import VpcLatticeV1

            codec = VpcLatticeV1(options)
        elif name == "lattice_v2":
            from faasify.adapters.aws.codecs.lattice_v2 import VpcLatticeV2

            codec = VpcLatticeV2(options)
        else:
            from faasify.adapters.aws.codecs.cloudfront import CloudFrontRequest

            kind = "origin-request" if name == "edge_origin_request" else "viewer-request"
            codec = CloudFrontRequest(options, event_type=kind)
        setattr(self, "_" + name, codec)
        return codec

    def detect(self, event: Any) -> AwsCodec | None:
        """The codec for ``event``'s shape, or ``None`` if it is not an HTTP event."""
        if type(event) is not dict:
            return None
        ctx = event.get("requestContext")
        if type(ctx) is not dict:
            # Direct invokes and test harnesses send the 1.0 shape without a
            # context (or with a null one): the method and path still say it all.
            if ctx is None and "httpMethod" in event and "path" in event:
                return self._v1(event)
            return self._detect_without_context(event)
        if event.get("version") == "2.0" and ("http" in ctx or "rawPath" in event):
            domain = ctx.get("domainName")
            if type(domain) is str and ".lambda-url." in domain:
                return self.function_url
            return self.http_api_v2
        if "httpMethod" not in event:
            # Past every shape above: what costs them nothing.
            if "serviceNetworkArn" in ctx and "method" in event:
                return self._lattice_v2 or self._rare("lattice_v2")
            return None
        if "elb" in ctx:
            return self.alb_multi_value if "multiValueHeaders" in event else self.alb
        return self._v1(event)

    def _v1(self, event: dict[str, Any]) -> AwsCodec:
        multi = "multiValueHeaders" in event
        if event.get("version") == "1.0":
            return self.http_api_v1 if multi else self.http_api_v1_single
        return self.rest if multi else self.rest_single

    def _detect_without_context(self, event: dict[str, Any]) -> AwsCodec | None:
        """The shapes without a ``requestContext``: VPC Lattice 1.0, Lambda@Edge."""
        if "raw_path" in event and "method" in event:
            return self._lattice_v1 or self._rare("lattice_v1")
        records = event.get("Records")
        if type(records) is list and len(records) == 1:
            first = records[0]
            cf = first.get("cf") if type(first) is dict else None
            if type(cf) is dict and "request" in cf and "response" not in cf:
                config = cf.get("config")
                kind = config.get("eventType") if type(config) is dict else None
                if kind == "origin-request":
                    return self._edge_origin_request or self._rare("edge_origin_request")
                if kind == "viewer-request":
                    return self._edge_viewer_request or self._rare("edge_viewer_request")
        return None


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
