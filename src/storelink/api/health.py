"""``/healthz`` and ``/metrics`` (outside ``/v1``: for operators and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from storelink.api.state import HubState, hub_state
from storelink.ops import metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness and readiness")
async def healthz(state: HubState = Depends(hub_state)) -> JSONResponse:
    report = await state.health.report()
    return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
