"""``/healthz`` and ``/metrics``: what every storelink service answers operators and scrapers.

The hub mounts :func:`probe_router` next to its API, the store agent next to
its POS API, and processes without an API of their own (``storelink webhooks
worker``) serve :func:`probe_app` on a port of their own.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.ops import metrics
from storelink.ops.health import Health, ReadinessCheck


def probe_router(health_of: Callable[[Request], Health]) -> APIRouter:
    """``GET /healthz`` (200 ready / 503 with reasons) and ``GET /metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness and readiness")
    async def healthz(request: Request) -> JSONResponse:
        report = await health_of(request).report()
        return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    return router


def probe_app(health: Health, *, title: str) -> FastAPI:
    """A small app serving only the probes, for processes without an API of their own."""
    app = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(probe_router(lambda _request: health))
    return app


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    """A readiness check: the database answers ``SELECT 1``."""

    async def database_ready() -> str | None:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            return f"database unreachable: {type(exc).__name__}: {exc}"
        return None

    return database_ready
