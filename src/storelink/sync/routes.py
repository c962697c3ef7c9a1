"""``/v1/sync/stores/{code}/…``: store agents upload transactions and pull deltas.

A store credential reaches only its own store (404 for any other); the
integration admin reaches every store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from storelink.api.idempotency import IDEMPOTENT_BY
from storelink.api.principal import Principal, Role
from storelink.api.problems import problem_responses
from storelink.api.security import ensure_store_access, require_role
from storelink.api.state import HubState, hub_state
from storelink.sync.deltas import read_delta
from storelink.sync.uploads import record_upload
from storelink.sync.wire import Dataset, DeltaPage, UploadBatch, UploadResult

router = APIRouter(prefix="/v1/sync/stores", tags=["store sync"])

StoreCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,32}$", description="Store code")]


@router.post(
    "/{code}/transactions",
    summary="Upload a batch of store transactions (idempotent per transaction uuid)",
    response_model=UploadResult,
    responses=problem_responses(401, 403, 404, 409, 422),
    # a replayed upload is answered from the transactions themselves: no Idempotency-Key
    openapi_extra={IDEMPOTENT_BY: "store code and transaction uuid"},
)
async def upload(
    code: StoreCode,
    batch: UploadBatch,
    principal: Principal = Depends(require_role(Role.STORE)),
    state: HubState = Depends(hub_state),
) -> UploadResult:
    """Answers only after the batch and its events are committed: an answered upload is kept."""
    ensure_store_access(principal, code)
    return await record_upload(state.engine, code, batch.transactions, now=state.clock())


@router.get(
    "/{code}/deltas/{dataset}",
    summary="Rows of a data set changed after a cursor (410 when a full resync is needed)",
    response_model=DeltaPage,
    responses=problem_responses(401, 403, 404, 410, 422),
)
async def delta(
    code: StoreCode,
    dataset: Dataset,
    after: Annotated[int, Query(ge=0, description="Cursor: the last revision applied")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    principal: Principal = Depends(require_role(Role.STORE)),
    state: HubState = Depends(hub_state),
) -> DeltaPage:
    ensure_store_access(principal, code)
    return await read_delta(state.engine, code, dataset, after=after, limit=limit)
