"""The interface every event source implements."""

from __future__ import annotations

from typing import Any

from faasify.adapters.events._common import EventOptions
from faasify.adapters.http import Request, Response

__all__ = ["EventSource"]


class EventSource:
    """Translates one platform's event shape to a :class:`Request` and back.

    An instance stands for one *shape*, including its response conventions
    (single- or multi-value headers, say), so that :meth:`encode` needs nothing
    but the response. Sources are stateless singletons: detection picks one per
    invoke and no per-invoke object is built for it.
    """

    #: The shape's name, as it appears in logs and errors.
    name: str

    def decode(self, event: dict[str, Any], context: Any, options: EventOptions) -> Request:
        """The request the event carries.

        May raise ``KeyError``, ``TypeError``, ``AttributeError`` or
        ``ValueError`` for a malformed event; the handler turns those into a
        400 answer shaped by :meth:`encode`.
        """
        raise NotImplementedError

    def encode(self, response: Response, options: EventOptions) -> dict[str, Any]:
        """The platform's response object for ``response``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<EventSource {self.name}>"
