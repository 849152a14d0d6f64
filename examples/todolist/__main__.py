"""Run the whole todolist on one machine: ``python -m examples.todolist``.

* the todo data service (uvicorn, on a free port unless ``--service-port`` names
  one), which owns the database;
* the function (Flask or FastAPI, through ``faasify.handler``), deployed once per
  stage on the local FaaS runtime: real instance processes that start cold on
  demand, serve one request at a time, scale out to ``--max-instances`` and stop
  after ``--idle-timeout`` idle seconds;
* one address for all of it (port 8000): the page of the chosen stage at ``/``,
  each stage's page at ``/stateful/``, ``/pooled/`` and ``/baas/``, and the
  panel at ``/panel/``, which shows the three stages side by side, live: their
  instances, cold starts and database connections, and what N users at once
  make of each.

With nothing configured it uses a SQLite file and in-process limits; with
``DATABASE_URL`` / ``REDIS_URL`` it uses PostgreSQL / Redis. Ctrl-C (or SIGTERM)
stops it all cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import FrameType
from typing import Any

from examples.todolist.settings import STAGES, Settings

logger = logging.getLogger("examples.todolist")

#: Where ``examples`` lives: the instance processes import the function from there.
ROOT = Path(__file__).resolve().parents[2]


class _Stop(BaseException):
    """SIGTERM: the same orderly stop as Ctrl-C.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on
    the way swallows it.
    """


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


class _CannotListen(Exception):
    """A port that cannot be had: said in one line, with the option that picks another."""

    def __init__(self, host: str, port: int, option: str, error: OSError) -> None:
        reason = error.strerror or str(error)
        super().__init__(
            f"cannot listen on {host}:{port} ({reason}): choose another port with {option}"
            " (0 picks a free one)"
        )


def _bind(host: str, port: int, option: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _CannotListen(host, port, option, exc) from None
    return sock


def _serve(app: Any, sock: socket.socket, name: str) -> tuple[Any, threading.Thread]:
    """``app`` on uvicorn in a thread, on ``sock``, started and answering."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            host, port = sock.getsockname()[:2]
            raise SystemExit(f"the {name} did not start on http://{host}:{port}")
        time.sleep(0.02)
    return server, thread


def _start_service(settings: Settings, host: str, port: int) -> tuple[Any, threading.Thread, str]:
    """The data service on uvicorn in a thread, started and answering."""

    from examples.todolist.service import build_service

    sock = _bind(host, port, "--service-port")
    url = f"http://{host}:{sock.getsockname()[1]}"
    server, thread = _serve(build_service(settings).app, sock, "todo data service")
    return server, thread, url


def _start_gateway(
    settings: Settings, args: argparse.Namespace
) -> tuple[Any, threading.Thread, str]:
    """The three stages' functions on the local runtime, the page and the panel, on
    ``--port``."""
    from examples.todolist.connections import counter_for
    from examples.todolist.gateway import Gateway, create_app
    from examples.todolist.panel import Panel

    sock = _bind(args.host, args.port, "--port (make demo PORT=...)")
    environments = {
        stage: {
            "TODO_STAGE": stage,
            "DATABASE_URL": settings.database_url,
            "TODO_BAAS_URL": settings.baas_url,
            "TODO_SECRET": settings.secret,
            "PYTHONUNBUFFERED": "1",
        }
        for stage in STAGES
    }
    gateway = Gateway(
        f"examples.todolist.{args.framework}_app:handler",
        environments,
        default=settings.stage,
        max_instances=args.max_instances,
        idle_timeout=args.idle_timeout,
        cwd=str(ROOT),
    )
    panel = Panel(gateway, counter_for(settings.database_url))

    @contextlib.asynccontextmanager
    async def closing_panel(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await panel.close()

    app = create_app(gateway, panel.routes(), lifespan=closing_panel)
    server, thread = _serve(app, sock, "gateway")
    return server, thread, f"http://{args.host}:{sock.getsockname()[1]}/"


def _stop(server: Any, thread: threading.Thread | None) -> None:
    if server is not None and thread is not None:
        server.should_exit = True
        thread.join(timeout=20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.todolist",
        description=__doc__,
        # The description's list stays a list.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--stage", choices=STAGES, help="the page at /; default: TODO_STAGE, else baas"
    )
    parser.add_argument("--framework", choices=["flask", "fastapi"], default="flask")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8000, help="the page's and panel's port (0: any)"
    )
    parser.add_argument(
        "--service-port", type=int, default=0, help="the data service's port (default 0: any)"
    )
    parser.add_argument(
        "--max-instances", type=int, default=4, help="instances per stage at most (default 4)"
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="seconds an idle instance lives before it is stopped (default 60)",
    )
    args = parser.parse_args(argv)
    if args.max_instances < 1:
        parser.error("--max-instances must be at least 1")
    # A shell starts a background job (`... &` in a script) with SIGINT ignored, and
    # Python then installs no handler of its own: put Ctrl-C's back, so that SIGINT
    # stops the demo however it was started.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # No line per request: neither the local runtime's nor the data-service client's.
    for noisy in ("faasify.local", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    environ = dict(os.environ)
    if not environ.get("TODO_SECRET"):
        # A secret of this run's own signs its tokens: nothing to configure, and no
        # published development secret that would let anyone mint one.
        environ["TODO_SECRET"] = secrets.token_urlsafe(32)
    settings = Settings.from_env(environ).but(stage=args.stage or environ.get("TODO_STAGE", "baas"))
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    service = service_thread = gateway = gateway_thread = None
    serving = False
    try:
        service, service_thread, service_url = _start_service(
            settings, args.host, args.service_port
        )
        settings = settings.but(baas_url=service_url)
        gateway, gateway_thread, url = _start_gateway(settings, args)
        print(
            f"todolist ({settings.stage} stage, {args.framework}) at {url}\n"
            f"  the three stages side by side, live: {url}panel/\n"
            f"  each stage's page: {url}stateful/  {url}pooled/  {url}baas/\n"
            f"  data service: {service_url}  database: {settings.database_url.split('@')[-1]}\n"
            "  Ctrl-C stops it",
            flush=True,
        )
        serving = True
        # Not join(): a KeyboardInterrupt inside Thread.join can leave the thread
        # marked as stopped while it runs (CPython gh-90882), and the orderly stop
        # below would then skip the instances.
        while gateway_thread.is_alive() and service_thread.is_alive():
            time.sleep(0.25)
    except (KeyboardInterrupt, _Stop):
        pass
    except _CannotListen as exc:
        print(f"python -m examples.todolist: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        # One orderly stop, not two: a second signal would cut it short and leave
        # instance processes behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            _stop(gateway, gateway_thread)  # the instances first: they call the service
            _stop(service, service_thread)
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
        if serving:
            print("todolist stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
