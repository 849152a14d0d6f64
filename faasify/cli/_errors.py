"""A mistake in how a command was called, told in a sentence instead of a traceback."""

from __future__ import annotations

import errno
import socket

from faasify._exceptions import FaasifyError

__all__ = ["CommandError", "listen_error"]


class CommandError(FaasifyError):
    """What went wrong and how to fix it; ``faasify`` prints it as one line and exits 1.

    ``detail`` (the user's own traceback, when their code raised) is printed
    above that line.
    """

    def __init__(self, message: str, *, status: int = 1, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def listen_error(exc: OSError, host: str, port: int, option: str = "--port") -> CommandError:
    """The sentence for a socket that could not listen on ``host:port``."""
    if exc.errno == errno.EADDRINUSE:
        return CommandError(
            f"port {port} on {host} is in use: stop the program that holds it, "
            f"or pick another port with {option} (e.g. {option} {port + 1})"
        )
    if exc.errno == errno.EACCES:
        return CommandError(
            f"not allowed to listen on port {port}: ports below 1024 need root; "
            f"pick another with {option} (e.g. {option} 8000)"
        )
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return CommandError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): "
            "give --host an address of this machine, such as 127.0.0.1 or 0.0.0.0"
        )
    return CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
