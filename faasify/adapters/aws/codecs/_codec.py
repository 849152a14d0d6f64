"""What every AWS event codec is: a shape, its options, decode with a diagnosis."""

from __future__ import annotations

from typing import Any

from faasify._exceptions import MalformedEventError
from faasify.adapters.aws.codecs._schema import Field, diagnose
from faasify.adapters.aws.shapes import Shape
from faasify.core.body import TextTypes
from faasify.core.http import Request, Response

__all__ = ["AwsCodec", "CodecOptions"]

# What a plain lookup raises on an event of the wrong shape.
_READ_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError)


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
    Subclasses implement :meth:`read` with plain lookups; :meth:`decode` turns
    what a malformed event breaks into a :class:`MalformedEventError` that
    names the field (see :mod:`faasify.adapters.aws.codecs._schema`).
    """

    #: The shape's name, in log lines and errors (see :mod:`faasify.adapters.aws.shapes`).
    source: Shape
    #: The shape's fields, checked only after a failed read.
    fields: Field

    def __init__(self, options: CodecOptions) -> None:
        self.options = options

    def decode(self, event: Any, context: Any) -> Request:
        try:
            return self.read(event, context)
        except MalformedEventError:
            raise
        except _READ_ERRORS as exc:
            problem = diagnose(self.fields, event, self.source)
            if problem is None:
                raise
            raise problem from exc

    def read(self, event: dict[str, Any], context: Any) -> Request:
        """The request ``event`` carries; may raise what a plain lookup raises."""
        raise NotImplementedError

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        """The platform's response object for ``response``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.source}>"
