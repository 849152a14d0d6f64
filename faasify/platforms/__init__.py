"""Entry points for FaaS platforms beyond AWS Lambda.

Each submodule turns one platform's request contract into faasify's neutral
:class:`~faasify.adapters.http.Request` and back, around a
:class:`~faasify.adapters.hosted.HostedApp` built once per instance, so the
app's startup runs once and its pools are reused on every platform. Import the
submodule for your platform (``faasify.platforms.gcf``, ...); none is imported
here, so a function pays only for its own.
"""
