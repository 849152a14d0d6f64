"""The AWS event builders, under the name the local runtime first gave them.

They live in :mod:`faasify.adapters.aws.events`, beside the codecs that read
the same shapes; this module re-exports them for code written against it.
"""

from faasify.adapters.aws.events import (
    EVENT_FORMATS,
    EventFormat,
    HTTPResult,
    build_event,
    quote_path,
    read_result,
)

__all__ = ["EVENT_FORMATS", "EventFormat", "HTTPResult", "build_event", "quote_path", "read_result"]
