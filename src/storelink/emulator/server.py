"""The HTTP face of the emulator: an ASGI app, an in-loop uvicorn server, a blocking ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storelink.emulator.faults import HTTP_KINDS, Faults
from storelink.emulator.protocols import Reply, json2, jsonrpc, xmlrpc

if TYPE_CHECKING:
    from storelink.emulator.emulator import OdooEmulator

_PROXY_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def _proxy_error(status: int) -> Response:
    title = _PROXY_PAGES[status]
    page = (
        f"<html><head><title>{title}</title></head>"
        f"<body><center><h1>{title}</h1></center></body></html>"
    )
    return Response(page, status_code=status, media_type="text/html")


def build_app(emulator: OdooEmulator) -> Starlette:
    faults, stats, backend = emulator.faults, emulator.stats, emulator.backend

    async def rpc(handler: Callable[[], Reply], path: str, body: bytes) -> Response:
        stats.round_trips += 1
        if faults.outage:
            return _proxy_error(503)
        fault = faults.take_http()
        if fault in HTTP_KINDS:
            return _proxy_error(int(str(fault)))
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        pace = emulator.pace
        reply = await pace.answer(handler, path, body) if pace is not None else handler()
        posts = list(backend.db.outbox)
        backend.db.outbox.clear()
        emulator.webhooks.send(posts)
        if fault == "timeout":
            await asyncio.sleep(faults.hang_s)
        return Response(
            reply.body,
            status_code=reply.status,
            media_type=reply.content_type,
            headers=reply.headers,
        )

    async def jsonrpc_endpoint(request: Request) -> Response:
        body = await request.body()
        return await rpc(lambda: jsonrpc.handle(backend, body), request.url.path, body)

    async def xmlrpc_endpoint(request: Request) -> Response:
        body = await request.body()
        service = str(request.path_params["service"])
        return await rpc(lambda: xmlrpc.handle(backend, service, body), request.url.path, body)

    async def xmlrpc_legacy_endpoint(request: Request) -> Response:
        body = await request.body()
        service = str(request.path_params["service"])
        return await rpc(
            lambda: xmlrpc.handle(backend, service, body, string_faults=True),
            request.url.path,
            body,
        )

    async def json2_endpoint(request: Request) -> Response:
        body = await request.body()
        model, method = str(request.path_params["model"]), str(request.path_params["method"])
        headers = {k.lower(): v for k, v in request.headers.items()}
        return await rpc(
            lambda: json2.handle(backend, model, method, headers, body), request.url.path, body
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "pass"})

    routes = [
        Route("/jsonrpc", jsonrpc_endpoint, methods=["POST"]),
        Route("/xmlrpc/2/{service}", xmlrpc_endpoint, methods=["POST"]),
        Route("/xmlrpc/{service}", xmlrpc_legacy_endpoint, methods=["POST"]),
        Route("/json/2/{model}/{method}", json2_endpoint, methods=["POST"]),
        Route("/web/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes)


@contextlib.asynccontextmanager
async def serve_emulator(emulator: OdooEmulator, port: int = 0) -> AsyncIterator[str]:
    """Serve ``emulator`` with uvicorn on 127.0.0.1 inside the running loop; yields its URL."""
    config = uvicorn.Config(
        emulator.asgi_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the Odoo emulator server stopped before starting")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await emulator.webhooks.drain()
        await task


def serve(
    host: str = "127.0.0.1",
    port: int = 8069,
    version: str | int = "17",
    faults: Faults | None = None,
    sock: socket.socket | None = None,
    **options: Any,
) -> None:
    """Run an emulator until interrupted (``storelink odoo emulate``); on ``sock`` (an
    inherited listening socket) if given, else on ``host:port``."""
    from storelink.emulator.emulator import OdooEmulator

    emulator = OdooEmulator(version=version, faults=faults, **options)
    config = uvicorn.Config(
        emulator.asgi_app(), host=host, port=port, log_level="info", lifespan="off"
    )
    uvicorn.Server(config).run(sockets=[sock] if sock is not None else None)
