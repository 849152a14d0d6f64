"""Front doors: each platform's way of calling a function, over the one core.

A front door is a codec (the platform's event in, a neutral request out; a
neutral response in, the platform's answer out) and the host's contract (how
it calls the function, from how many threads, when the app may start). The
per-request loop, the app's instance life and the log lines are
:mod:`faasify.core`'s, shared by all of them.

| module | platform |
|---|---|
| :mod:`faasify.adapters.aws` | AWS Lambda: API Gateway, Function URLs, ALB, Lattice, Lambda@Edge |
| :mod:`faasify.adapters.aliyun` | Alibaba Cloud Function Compute 2.0 and 3.0 |
| :mod:`faasify.adapters.azure` | Azure Functions (Python worker) |
| :mod:`faasify.adapters.fn` | Fn Project and OCI Functions |
| :mod:`faasify.adapters.gcf` | Google Cloud Functions and Cloud Run functions |
| :mod:`faasify.adapters.huawei` | Huawei Cloud FunctionGraph (APIG trigger) |
| :mod:`faasify.adapters.ironfunctions` | IronFunctions |
| :mod:`faasify.adapters.openfaas` | OpenFaaS (python3-http template, classic watchdog) |
| :mod:`faasify.adapters.openwhisk` | Apache OpenWhisk and DigitalOcean Functions (web actions) |
| :mod:`faasify.adapters.tencent` | Tencent Cloud SCF (API Gateway trigger) |

Import the module for your platform; none is imported here, so a function
pays only for its own. :func:`faasify.handler` is the AWS one.
"""

from __future__ import annotations

from faasify import _moved_names

__all__: list[str] = []

# Names this package exported before the front doors moved into their own
# modules: still importable from here for one release, with a warning.
__getattr__ = _moved_names(
    "faasify.adapters",
    {
        "LambdaHandler": ("faasify.adapters.aws.handler", "faasify"),
        "asgi": ("faasify.adapters.aws.handler", "faasify"),
        "handler": ("faasify.adapters.aws.handler", "faasify"),
        "wsgi": ("faasify.adapters.aws.handler", "faasify"),
        "RecordsFailedError": ("faasify._exceptions", "faasify"),
        "HostedApp": ("faasify.core.hosted", "faasify.core"),
        "detect_app_kind": ("faasify.core.hosted", "faasify.core"),
        "Instance": ("faasify.core.instance", "faasify.core"),
        "current_instance": ("faasify.core.instance", "faasify.core"),
        "Request": ("faasify.core.http", "faasify.core"),
        "Response": ("faasify.core.http", "faasify.core"),
    },
)
