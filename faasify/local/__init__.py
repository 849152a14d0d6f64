"""Running handlers on one machine: event builders and a development server."""

from faasify.local.events import EVENT_FORMATS, HTTPResult, build_event, read_result
from faasify.local.serve import serve

__all__ = ["EVENT_FORMATS", "HTTPResult", "build_event", "read_result", "serve"]
