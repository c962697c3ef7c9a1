"""Serving an ASGI app inside a running program (the hub, workers, the sandbox, tests).

:func:`serve_app` runs uvicorn as a task of the caller's event loop, on a
socket from :func:`bind`, and stops it when the block exits. Several servers
can share one process: none of them takes SIGINT/SIGTERM, which belong to the
program (see :func:`storelink.ops.signals.stop_on_signals`).

A process started as a named hub worker (``STORELINK_WORKER_ID`` set, as
:mod:`storelink.ops.supervisor` does for each child) names itself in a
``Storelink-Worker`` header on every response, so an operator (or a test) can
tell which of the workers sharing a port answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from storelink.errors import UsageError
from storelink.ops.identity import ENV as WORKER_ID_ENV

#: how long a stopping server waits for in-flight requests before closing them
GRACEFUL_SHUTDOWN_S = 2.0
#: the response header naming the hub worker process that answered
WORKER_HEADER = "Storelink-Worker"


class _QuietServer(uvicorn.Server):
    # only the program itself may own SIGINT/SIGTERM, so uvicorn must not take them
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 picks a free port), reusable after restarts.

    ``reuse_port`` sets ``SO_REUSEPORT``: other processes that bind the same port with it
    (separate ``hub serve --reuse-port`` processes) share it, the kernel spreading new
    connections between them.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        if not hasattr(socket, "SO_REUSEPORT"):
            sock.close()
            raise UsageError("--reuse-port: this system has no SO_REUSEPORT")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def serve_app(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
) -> AsyncIterator[str]:
    """Serve the ASGI ``app`` with uvicorn until the block exits; yields its base URL.

    Given ``sock`` (a listening socket from :func:`bind`), it serves on a duplicate of it
    and leaves ``sock`` open: a program that restarts a server keeps its port the whole
    time (connections wait in the backlog instead of being refused, and no other socket
    can take the port in between).
    """
    if sock is not None:
        host = str(sock.getsockname()[0])
        sock = sock.dup()
    else:
        sock = bind(host, port)
    worker = os.environ.get(WORKER_ID_ENV)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_S),
        headers=[(WORKER_HEADER, worker)] if worker else None,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raises the startup failure
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.005)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
