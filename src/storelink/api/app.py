"""The hub's ASGI application.

``create_app`` wires settings, the database (migrated on start), health checks,
observability and every part's router. Parts contribute routes by exposing an
``APIRouter`` named ``router`` in a module listed in :data:`ROUTER_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink import __version__
from storelink.api import openapi, problems
from storelink.api.audit_trail import AuditAdminWrites
from storelink.api.idempotency import IdempotencyMiddleware
from storelink.api.oauth import TOKEN_PATH
from storelink.api.observability import ObserveRequests
from storelink.api.state import Clock, HubState
from storelink.config import Settings
from storelink.db import create_engine, upgrade
from storelink.model import utcnow
from storelink.ops import configure_logging, setup_tracing
from storelink.ops.probes import database_check

#: modules whose ``router`` is mounted on the hub, in this order
ROUTER_MODULES: tuple[str, ...] = (
    "storelink.api.health",
    "storelink.api.oauth",
    "storelink.api.catalog",
    "storelink.api.stock",
    "storelink.api.stores",
    "storelink.api.orders",
    "storelink.api.returns",
    "storelink.api.customers",
    "storelink.api.admin",
    "storelink.sync.routes",
    "storelink.odoo.routes",
    "storelink.webhooks.routes",
)


def _routers() -> list[APIRouter]:
    routers: list[APIRouter] = []
    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        routers.append(module.router)
    return routers


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    migrate: bool = True,
    clock: Clock = utcnow,
) -> FastAPI:
    """The hub application. Pass ``engine`` to share one with the caller (tests, sandbox)
    and ``clock`` to control time (token expiry, rate limits, idempotency windows)."""
    configure_logging(settings.observability)
    setup_tracing(settings.observability)
    own_engine = engine is None
    hub = HubState(
        settings=settings,
        engine=engine or create_engine(settings.effective_database_url),
        clock=clock,
    )

    hub.health.register("database", database_check(hub.engine))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade(hub.engine)
        yield
        await hub.aclose()
        if own_engine:
            await hub.engine.dispose()

    app = FastAPI(
        title="storelink hub",
        version=__version__,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        # ObserveRequests already makes the server span and the HTTP metrics; FastAPI's
        # own per-dependency spans would cost more than a read-model lookup
        telemetry={"tracing": False, "metrics": False, "operation_spans": False},
    )
    app.state.hub = hub
    problems.install(app)
    exempt = frozenset({TOKEN_PATH})
    # the last added is outermost: ObserveRequests logs everything (replays too), then
    # idempotency, then the admin audit (a replayed answer is not a second action)
    app.add_middleware(AuditAdminWrites, hub=hub)
    app.add_middleware(IdempotencyMiddleware, hub=hub, exempt=exempt, routes=lambda: app.routes)
    app.add_middleware(ObserveRequests)
    for router in _routers():
        app.include_router(router)
    openapi.install(app, exempt=exempt)
    return app
