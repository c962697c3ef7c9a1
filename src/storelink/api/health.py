"""``/healthz`` and ``/metrics`` (outside ``/v1``: for operators and scrapers)."""

from __future__ import annotations

from fastapi import Request

from storelink.api.state import HubState
from storelink.ops.health import Health
from storelink.ops.probes import probe_router


def _hub_health(request: Request) -> Health:
    state: HubState = request.app.state.hub
    return state.health


router = probe_router(_hub_health)
