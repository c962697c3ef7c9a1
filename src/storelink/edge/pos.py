"""The local POS API on the store LAN: lookups from the local copy, durable writes.

Reads never wait for the hub. A write answers ``201`` only once committed to
disk; repeating it with the same ``uuid`` returns the first answer (with
``Idempotent-Replayed: true``) and records nothing new. Bad input is a 4xx
``application/problem+json`` naming the field, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from storelink import __version__
from storelink.api.problems import install as install_problems
from storelink.api.problems import problem_responses
from storelink.edge.catalog import ProductView, find_product
from storelink.edge.database import LocalDatabase
from storelink.edge.recorder import Recorded, Recorder
from storelink.edge.requests import AdjustmentRequest, CountRequest, ReturnRequest, SaleRequest
from storelink.edge.status import read_status
from storelink.errors import NotFoundError
from storelink.ops.health import Health
from storelink.ops.probes import probe_router


@dataclass
class PosState:
    store: str
    database: LocalDatabase
    recorder: Recorder
    clock: Callable[[], datetime]
    #: called after every new write (wakes the uploader)
    on_write: Callable[[], None] = lambda: None


def pos_state(request: Request) -> PosState:
    state: PosState = request.app.state.pos
    return state


router = APIRouter()


def _product(view: ProductView) -> dict[str, Any]:
    price = view.price
    return {
        "sku": view.sku,
        "name": view.name,
        "barcode": view.barcode,
        "uom": view.uom,
        "active": view.active,
        "price": None
        if price is None
        else {
            "amount": format(price.amount, "f"),
            "currency": price.currency,
            "version": price.version,
            "valid_to": price.valid_to.isoformat() if price.valid_to else None,
        },
        "available": format(view.available, "f"),
        "pending": format(view.pending, "f"),
    }


# Lookups are the hottest path at a till: they answer a ready JSONResponse instead of
# going through response-model validation.
@router.get("/v1/products/{sku}", responses=problem_responses(404))
async def product_by_sku(sku: str, request: Request) -> JSONResponse:
    """A product with its price valid now and local available stock."""
    state = pos_state(request)
    view = find_product(state.database.read, state.clock(), sku=sku)
    if view is None:
        raise NotFoundError(f"no product {sku!r}", sku=sku)
    return JSONResponse(_product(view))


@router.get("/v1/products", responses=problem_responses(404, 422))
async def product_by_barcode(
    barcode: Annotated[str, Query(min_length=1, max_length=32)], request: Request
) -> JSONResponse:
    """Look a product up by its barcode (what the scanner read)."""
    state = pos_state(request)
    view = find_product(state.database.read, state.clock(), barcode=barcode)
    if view is None:
        raise NotFoundError(f"no product with barcode {barcode!r}", barcode=barcode)
    return JSONResponse(_product(view))


async def _answer(state: PosState, write: Awaitable[Recorded]) -> JSONResponse:
    recorded = await write
    headers = {"Idempotent-Replayed": "true"} if recorded.replayed else None
    if not recorded.replayed:
        state.on_write()
    return JSONResponse(recorded.body, status_code=201, headers=headers)


WRITE = {"status_code": 201, "responses": problem_responses(409, 422)}


@router.post("/v1/sales", **WRITE)  # type: ignore[arg-type]
async def record_sale(body: SaleRequest, state: PosState = Depends(pos_state)) -> JSONResponse:
    return await _answer(state, state.recorder.record_sale(body))


@router.post("/v1/returns", **WRITE)  # type: ignore[arg-type]
async def record_return(body: ReturnRequest, state: PosState = Depends(pos_state)) -> JSONResponse:
    return await _answer(state, state.recorder.record_return(body))


@router.post("/v1/stock/adjustments", **WRITE)  # type: ignore[arg-type]
async def record_adjustment(
    body: AdjustmentRequest, state: PosState = Depends(pos_state)
) -> JSONResponse:
    return await _answer(state, state.recorder.record_adjustment(body))


@router.post("/v1/stock/counts", **WRITE)  # type: ignore[arg-type]
async def record_count(body: CountRequest, state: PosState = Depends(pos_state)) -> JSONResponse:
    return await _answer(state, state.recorder.record_count(body))


@router.get("/v1/status")
async def status(state: PosState = Depends(pos_state)) -> dict[str, Any]:
    """Online/offline, queue depth, oldest unsent age, last sync per data set."""
    return read_status(state.database.read, state.store, state.clock()).as_dict()


# the till answers from local data whatever the hub's state, so the agent is ready
# while it runs; its link and backlog are in /v1/status
router.include_router(probe_router(lambda _request: Health()))


def create_pos_app(state: PosState) -> FastAPI:
    """The store's local API application."""
    app = FastAPI(title=f"storelink agent {state.store}", version=__version__)
    app.state.pos = state
    install_problems(app)
    app.include_router(router)
    return app


__all__ = ["PosState", "create_pos_app"]
