"""The AWS HTTP event codecs, and the detection that picks one per event.

Detection reads only a few keys that tell the shapes apart, in an order where
the distinguishing key comes first, so it costs a handful of dict lookups per
invoke and never needs configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._codec import AwsCodec, CodecOptions

__all__ = [
    "AwsCodec",
    "AwsCodecs",
    "CodecOptions",
    "describe_event",
    "is_warmup_event",
]


def __getattr__(name: str) -> Any:
    # AwsCodec and CodecOptions live in _codec, imported by the first codec built.
    if name in ("AwsCodec", "CodecOptions"):
        from faasify.adapters.aws.codecs import _codec

        return getattr(_codec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Each codec's attribute -> how to build it: (module, class, keyword arguments).
_CODECS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "rest": ("apigw_v1", "ApiGatewayV1", {"http_api": False, "multi_value": True}),
    "rest_single": ("apigw_v1", "ApiGatewayV1", {"http_api": False, "multi_value": False}),
    "http_api_v1": ("apigw_v1", "ApiGatewayV1", {"http_api": True, "multi_value": True}),
    "http_api_v1_single": ("apigw_v1", "ApiGatewayV1", {"http_api": True, "multi_value": False}),
    "http_api_v2": ("apigw_v2", "ApiGatewayV2", {"function_url": False}),
    "function_url": ("apigw_v2", "ApiGatewayV2", {"function_url": True}),
    "alb": ("alb", "ApplicationLoadBalancer", {"multi_value": False}),
    "alb_multi_value": ("alb", "ApplicationLoadBalancer", {"multi_value": True}),
    "lattice_v1": ("lattice_v1", "VpcLatticeV1", {}),
    "lattice_v2": ("lattice_v2", "VpcLatticeV2", {}),
    "edge_viewer_request": ("cloudfront", "CloudFrontRequest", {"event_type": "viewer-request"}),
    "edge_origin_request": ("cloudfront", "CloudFrontRequest", {"event_type": "origin-request"}),
}


class AwsCodecs:
    """One handler's codec for every AWS shape, and :meth:`detect` to pick one.

    Built once per handler, with its options, at cold start; each codec is
    built (and its module imported) by the first event detection routes to it,
    so that a function behind API Gateway never pays for ALB, VPC Lattice or
    Lambda@Edge, nor any function for the shapes it never receives. Once
    built, a codec costs detection one truth test per invoke. ``options`` may
    be left out for the handler's checked ``text_mime_types`` and ``base_path``,
    turned into :class:`CodecOptions` with the first codec.
    """

    __slots__ = (
        "_alb",
        "_alb_multi_value",
        "_base_path",
        "_edge_origin_request",
        "_edge_viewer_request",
        "_function_url",
        "_http_api_v1",
        "_http_api_v1_single",
        "_http_api_v2",
        "_lattice_v1",
        "_lattice_v2",
        "_options",
        "_rest",
        "_rest_single",
        "_text_mime_types",
    )

    def __init__(
        self,
        options: CodecOptions | None = None,
        *,
        text_mime_types: tuple[str, ...] = (),
        base_path: str = "",
    ) -> None:
        self._options = options
        self._text_mime_types = text_mime_types
        self._base_path = base_path
        self._rest: AwsCodec | None = None
        self._rest_single: AwsCodec | None = None
        self._http_api_v1: AwsCodec | None = None
        self._http_api_v1_single: AwsCodec | None = None
        self._http_api_v2: AwsCodec | None = None
        self._function_url: AwsCodec | None = None
        self._alb: AwsCodec | None = None
        self._alb_multi_value: AwsCodec | None = None
        self._lattice_v1: AwsCodec | None = None
        self._lattice_v2: AwsCodec | None = None
        self._edge_viewer_request: AwsCodec | None = None
        self._edge_origin_request: AwsCodec | None = None

    @property
    def options(self) -> CodecOptions:
        """The options every codec of the handler reads."""
        options = self._options
        if options is None:
            from faasify.adapters.aws.codecs._codec import CodecOptions
            from faasify.core.body import TextTypes

            options = self._options = CodecOptions(
                TextTypes(self._text_mime_types), self._base_path
            )
        return options

    @property
    def rest(self) -> AwsCodec:
        return self._rest or self._build("rest")

    @property
    def rest_single(self) -> AwsCodec:
        return self._rest_single or self._build("rest_single")

    @property
    def http_api_v1(self) -> AwsCodec:
        return self._http_api_v1 or self._build("http_api_v1")

    @property
    def http_api_v1_single(self) -> AwsCodec:
        return self._http_api_v1_single or self._build("http_api_v1_single")

    @property
    def http_api_v2(self) -> AwsCodec:
        return self._http_api_v2 or self._build("http_api_v2")

    @property
    def function_url(self) -> AwsCodec:
        return self._function_url or self._build("function_url")

    @property
    def alb(self) -> AwsCodec:
        return self._alb or self._build("alb")

    @property
    def alb_multi_value(self) -> AwsCodec:
        return self._alb_multi_value or self._build("alb_multi_value")

    @property
    def lattice_v1(self) -> AwsCodec:
        return self._lattice_v1 or self._build("lattice_v1")

    @property
    def lattice_v2(self) -> AwsCodec:
        return self._lattice_v2 or self._build("lattice_v2")

    @property
    def edge_viewer_request(self) -> AwsCodec:
        return self._edge_viewer_request or self._build("edge_viewer_request")

    @property
    def edge_origin_request(self) -> AwsCodec:
        return self._edge_origin_request or self._build("edge_origin_request")

    def _build(self, name: str) -> AwsCodec:
        """The codec ``name``, built (and its module imported) on first use."""
        import importlib

        module, cls, keywords = _CODECS[name]
        home = importlib.import_module(f"{__name__}.{module}")
        codec: AwsCodec = getattr(home, cls)(self.options, **keywords)
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
                return self._function_url or self._build("function_url")
            return self._http_api_v2 or self._build("http_api_v2")
        if "httpMethod" not in event:
            # Past every shape above: what costs them nothing.
            if "serviceNetworkArn" in ctx and "method" in event:
                return self._lattice_v2 or self._build("lattice_v2")
            return None
        if "elb" in ctx:
            if "multiValueHeaders" in event:
                return self._alb_multi_value or self._build("alb_multi_value")
            return self._alb or self._build("alb")
        return self._v1(event)

    def _v1(self, event: dict[str, Any]) -> AwsCodec:
        multi = "multiValueHeaders" in event
        if event.get("version") == "1.0":
            if multi:
                return self._http_api_v1 or self._build("http_api_v1")
            return self._http_api_v1_single or self._build("http_api_v1_single")
        if multi:
            return self._rest or self._build("rest")
        return self._rest_single or self._build("rest_single")

    def _detect_without_context(self, event: dict[str, Any]) -> AwsCodec | None:
        """The shapes without a ``requestContext``: VPC Lattice 1.0, Lambda@Edge."""
        if "raw_path" in event and "method" in event:
            return self._lattice_v1 or self._build("lattice_v1")
        records = event.get("Records")
        if type(records) is list and len(records) == 1:
            first = records[0]
            cf = first.get("cf") if type(first) is dict else None
            if type(cf) is dict and "request" in cf and "response" not in cf:
                config = cf.get("config")
                kind = config.get("eventType") if type(config) is dict else None
                if kind == "origin-request":
                    return self._edge_origin_request or self._build("edge_origin_request")
                if kind == "viewer-request":
                    return self._edge_viewer_request or self._build("edge_viewer_request")
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
