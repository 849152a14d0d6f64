"""Run the whole todolist on one machine: ``python -m examples.todolist``.

* the todo data service (uvicorn, on a free port unless ``--service-port`` names
  one), which owns the database;
* the function (Flask or FastAPI) behind a local HTTP endpoint on port 8000,
  called through ``faasify.handler`` with API Gateway HTTP API events, one
  request at a time as a Lambda instance serves them;
* the page, served by the function at ``/``.

With nothing configured it uses a SQLite file and in-process limits; with
``DATABASE_URL`` / ``REDIS_URL`` it uses PostgreSQL / Redis. Ctrl-C (or SIGTERM)
stops both cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

from examples.todolist.settings import STAGES, Settings

logger = logging.getLogger("examples.todolist")


class _Stop(BaseException):
    """SIGTERM before the endpoint serves: the same orderly stop as Ctrl-C.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on
    the way (the HTTP server has some) swallows it.
    """


_serving: list[Any] = []  # the HTTP server, once it serves


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _serving:
        # Let the request in flight finish, then leave serve_forever().
        threading.Thread(target=_serving[0].shutdown, daemon=True).start()
    else:
        raise _Stop()


class _CannotListen(Exception):
    """A port that cannot be had: said in one line, with the option that picks another."""

    def __init__(self, host: str, port: int, option: str, error: OSError) -> None:
        reason = error.strerror or str(error)
        super().__init__(
            f"cannot listen on {host}:{port} ({reason}): choose another port with {option}"
            " (0 picks a free one)"
        )


def _start_service(settings: Settings, host: str, port: int) -> tuple[Any, threading.Thread, str]:
    """The data service on uvicorn in a thread, started and answering."""
    import uvicorn

    from examples.todolist.service import build_service

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _CannotListen(host, port, "--service-port", exc) from None
    url = f"http://{host}:{sock.getsockname()[1]}"
    service = build_service(settings)
    server = uvicorn.Server(uvicorn.Config(service.app, log_level="warning"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="todo-service", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit(f"the todo data service did not start on {url}")
        time.sleep(0.02)
    return server, thread, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.todolist",
        description=__doc__,
        # The description's list stays a list.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stage", choices=STAGES, help="default: TODO_STAGE, else baas")
    parser.add_argument("--framework", choices=["flask", "fastapi"], default="flask")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the function's port (0: any)")
    parser.add_argument(
        "--service-port", type=int, default=0, help="the data service's port (default 0: any)"
    )
    args = parser.parse_args(argv)
    # A shell starts a background job (`... &` in a script) with SIGINT ignored, and
    # Python then installs no handler of its own: put Ctrl-C's back, so that SIGINT
    # stops the demo however it was started.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # No line per request: neither the local endpoint's nor the data-service client's.
    for noisy in ("faasify.local", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    import os

    settings = Settings.from_env().but(stage=args.stage or os.environ.get("TODO_STAGE", "baas"))
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    server = thread = http = fn = None
    serving = False
    try:
        server, thread, service_url = _start_service(settings, args.host, args.service_port)
        settings = settings.but(baas_url=service_url)

        import faasify
        from faasify.local.serve import make_server

        if args.framework == "flask":
            from examples.todolist.flask_app import create_app
        else:
            from examples.todolist.fastapi_app import create_app  # type: ignore[assignment]
        fn = faasify.handler(create_app(settings), handle_signals=False)
        try:
            http = make_server(fn, args.host, args.port)
        except OSError as exc:
            raise _CannotListen(args.host, args.port, "--port (make demo PORT=...)", exc) from None
        url = f"http://{args.host}:{http.server_port}/"
        print(
            f"todolist ({settings.stage} stage, {args.framework}) at {url}\n"
            f"  data service: {service_url}  database: {settings.database_url.split('@')[-1]}\n"
            "  Ctrl-C stops it",
            flush=True,
        )
        serving = True
        _serving.append(http)
        http.serve_forever()
    except (KeyboardInterrupt, _Stop):
        pass
    except _CannotListen as exc:
        print(f"python -m examples.todolist: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        _serving.clear()
        if http is not None:
            http.server_close()
        if fn is not None:
            fn.close()
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
        if serving:
            print("todolist stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
