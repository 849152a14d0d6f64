"""What every AWS event codec is: a shape, its options, decode with a diagnosis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from faasify._exceptions import MalformedEventError
    from faasify.adapters.aws.codecs._schema import Field
    from faasify.adapters.aws.shapes import Shape
    from faasify.core.body import TextTypes
    from faasify.core.http import Request, Response

__all__ = ["READ_ERRORS", "AwsCodec", "CodecOptions"]

#: What a plain lookup raises on an event of the wrong shape.
READ_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError)


class CodecOptions:
    """Per-handler settings the codecs read; built once at cold start."""

    __slots__ = ("base_path", "text_types")

    def __init__(self, text_types: TextTypes, base_path: str = "") -> None:
        self.text_types = text_types
        self.base_path = base_path


class AwsCodec:
    """Translates one AWS event shape to a :class:`Request` and back.

    An instance stands for one shape, including its answer's conventions
    (single- or multi-value headers, say), so that :meth:`encode` needs
    nothing but the response. Built once per handler with its options;
    detection picks one per invoke and no per-invoke object is built for it.
    Subclasses implement :meth:`decode` with plain lookups inside one ``try``
    (free in CPython 3.11 until something raises) and hand what a malformed
    event breaks, one of :data:`READ_ERRORS`, to :meth:`malformed`, which names
    the field (see :mod:`faasify.adapters.aws.codecs._schema`).
    """

    #: The shape's name, in log lines and errors (see :mod:`faasify.adapters.aws.shapes`).
    source: Shape
    #: The shape's fields, built (and checked) only after a failed read.
    fields: Callable[[], Field]

    def __init__(self, options: CodecOptions) -> None:
        self.options = options

    def decode(self, event: Any, context: Any) -> Request:
        """The request ``event`` carries; :class:`MalformedEventError` if it is malformed."""
        raise NotImplementedError

    def malformed(self, event: Any, error: Exception) -> MalformedEventError:
        """The error to raise for ``event``, whose reading failed with ``error``.

        ``error`` itself is raised again when the event fits its shape: then
        the failure was faasify's, and must stay a 500.
        """
        from faasify._exceptions import MalformedEventError

        if isinstance(error, MalformedEventError):
            return error  # already precise (an InvalidRequestError is a ValueError)
        from faasify.adapters.aws.codecs._schema import diagnose

        problem = diagnose(self.fields(), event, self.source)
        if problem is None:
            raise error
        return problem

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        """The platform's response object for ``response``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.source}>"
