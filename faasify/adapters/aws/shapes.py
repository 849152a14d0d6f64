"""The names of the AWS HTTP event shapes: one vocabulary for codecs, builders,
fixtures, log lines and the command line.

| name | what sends it |
|---|---|
| ``rest-v1`` | API Gateway REST API, Lambda proxy integration (payload 1.0) |
| ``http-api-v1`` | API Gateway HTTP API, payload format 1.0 |
| ``http-api-v2`` | API Gateway HTTP API, payload format 2.0 |
| ``function-url`` | Lambda function URL (the 2.0 shape, its own domain) |
| ``alb`` | Application Load Balancer target group |
| ``alb-multi-value`` | the same with multi-value headers turned on |
| ``vpc-lattice-v1`` | Amazon VPC Lattice target group, event structure version 1.0 |
| ``vpc-lattice-v2`` | Amazon VPC Lattice target group, event structure version 2.0 |
| ``cloudfront-viewer-request`` | CloudFront Lambda@Edge, viewer-request trigger |
| ``cloudfront-origin-request`` | CloudFront Lambda@Edge, origin-request trigger |
"""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = ["SHAPES", "SHAPE_DESCRIPTIONS", "Shape"]

Shape: TypeAlias = Literal[
    "rest-v1",
    "http-api-v1",
    "http-api-v2",
    "function-url",
    "alb",
    "alb-multi-value",
    "vpc-lattice-v1",
    "vpc-lattice-v2",
    "cloudfront-viewer-request",
    "cloudfront-origin-request",
]

#: Every shape, in the order the docs list them.
SHAPES: tuple[Shape, ...] = (
    "http-api-v2",
    "function-url",
    "http-api-v1",
    "rest-v1",
    "alb",
    "alb-multi-value",
    "vpc-lattice-v2",
    "vpc-lattice-v1",
    "cloudfront-viewer-request",
    "cloudfront-origin-request",
)

SHAPE_DESCRIPTIONS: dict[Shape, str] = {
    "http-api-v2": "API Gateway HTTP API, payload format 2.0",
    "function-url": "Lambda function URL",
    "http-api-v1": "API Gateway HTTP API, payload format 1.0",
    "rest-v1": "API Gateway REST API (Lambda proxy integration)",
    "alb": "Application Load Balancer",
    "alb-multi-value": "Application Load Balancer with multi-value headers",
    "vpc-lattice-v2": "Amazon VPC Lattice, event structure version 2.0",
    "vpc-lattice-v1": "Amazon VPC Lattice, event structure version 1.0",
    "cloudfront-viewer-request": "CloudFront Lambda@Edge, viewer request",
    "cloudfront-origin-request": "CloudFront Lambda@Edge, origin request",
}
